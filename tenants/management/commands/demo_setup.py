import secrets

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from accounts.models import User
from billing.plans import plans_seed
from billing.services import sms_packages_seed
from integration.selectors import api_keys_of
from integration.services.keys import api_key_create
from sms.channels import channel_sandbox_ensure
from tenants.models import Tenant
from tenants.services import tenant_create


class Command(BaseCommand):
    help = (
        "Create (once) an operator admin who owns a demo tenant and the default SMS packages, "
        "and print how to sign in."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default="admin@mifumo.local")
        parser.add_argument(
            "--password",
            default=settings.OPERATOR_PASSWORD,
            help="The operator's password when created (default: OPERATOR_PASSWORD, else random)",
        )
        parser.add_argument("--subdomain", default="demo")

    @transaction.atomic
    def handle(self, *args, email, password, subdomain, **options):
        admin = User.objects.filter(email=email).first()
        shown_password = f"password set on the first run; reset: manage.py changepassword {email}"
        if admin is None:
            # No fixed default: a known operator password is a known way in.
            password = password or secrets.token_urlsafe(12)
            shown_password = f"{password}  (shown once: copy it now)"
            admin = User.objects.create_superuser(
                email=email,
                password=password,
                first_name="Mifumo",
                last_name="Admin",
                phone_number="+255700000000",
                phone_verified=True,
                email_verified=True,
            )
        tenant = Tenant.objects.filter(subdomain=subdomain).first()
        if tenant is None:
            tenant = tenant_create(
                owner=admin,
                name="Demo Business",
                subdomain=subdomain,
                business_type="Retail",
                contact_email=email,
            )
        sms_packages_seed()
        channel_sandbox_ensure(tenant=tenant)
        plans_seed()
        base = settings.PUBLIC_BASE_URL
        api_key = self._demo_api_key(tenant, admin)
        self.stdout.write(
            self.style.SUCCESS("Mifumo is set up.")
            + f"""
  Admin:        {base}/admin/   {email}
  Password:     {shown_password}
  Swagger UI:   {base}/swagger/
  Demo tenant:  {tenant.name} (subdomain '{tenant.subdomain}', id {tenant.id})
  Sign in:      curl -s -X POST {base}/api/auth/login/ -H 'Content-Type: application/json' \\
                  -d '{{"email": "{email}", "password": "<the password>"}}'
  SMS credits:  .venv/bin/python manage.py add_credits --tenant {tenant.subdomain} --credits 100
  SMS outbox:   .venv/bin/python manage.py sandbox_outbox
  API key:      {api_key}
  Developers:   {base}/api/integration/dashboard/  and  {base}/api/integration/documentation/
"""
        )

    def _demo_api_key(self, tenant, admin) -> str:
        """The demo tenant's first API key, made and shown once (only its hash is kept)."""
        if api_keys_of(tenant_id=tenant.pk).exists():
            return "made on the first run (make more in the developer dashboard)"
        issue = api_key_create(tenant=tenant, name="Demo key", permissions=[], created_by=admin)
        return f"{issue.key}  (shown once: copy it now)"
