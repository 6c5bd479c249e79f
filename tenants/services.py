"""Every write to tenants: creation (with its schema), settings, switching, domains, invitations."""

import ipaddress
import re
import secrets
import zoneinfo
from collections.abc import Iterable
from typing import Any

import pycountry
from django.conf import settings
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.text import slugify
from django_tenants.utils import get_public_schema_name, schema_context, schema_exists
from rest_framework import status

from mifumo.errors import ApplicationError, ErrorCode, field_error
from mifumo.events import publish
from mifumo.tasks import email_send
from tenants.middleware import platform_hosts
from tenants.models import Domain, Invitation, Membership, Role, Tenant
from tenants.selectors import invitation_get, invitation_token_hash

SUBDOMAIN_RE = re.compile(r"^[a-z0-9](?:[a-z0-9-]{1,48}[a-z0-9])$")
RESERVED_SUBDOMAINS = {
    "admin", "api", "app", "dashboard", "docs", "help", "mail", "media", "public",
    "static", "status", "support", "template", "tenant-template", "www",
}  # fmt: skip
HOSTNAME_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$")


def country_code(value: str) -> str:
    """ISO alpha-2 for a country given by code or name ('TZ', 'TZA', 'Tanzania')."""
    try:
        return pycountry.countries.lookup(value.strip()).alpha_2
    except LookupError as exc:
        raise field_error("country", f"Unknown country '{value}'.") from exc


def timezone_check(name: str, field: str = "timezone") -> str:
    if name not in zoneinfo.available_timezones():
        raise field_error(field, f"Unknown time zone '{name}'.")
    return name


def subdomain_check(subdomain: str) -> str:
    subdomain = subdomain.strip().lower()
    if not SUBDOMAIN_RE.match(subdomain) or "--" in subdomain:
        raise field_error(
            "subdomain",
            "Use 3 to 50 lower-case letters, digits and single hyphens, "
            "starting and ending with a letter or digit.",
        )
    if subdomain in RESERVED_SUBDOMAINS:
        raise field_error("subdomain", f"'{subdomain}' is reserved.")
    if Tenant.objects.filter(subdomain=subdomain).exists():
        raise field_error("subdomain", f"The subdomain '{subdomain}' is already taken.")
    return subdomain


def _subdomain_from_name(name: str) -> str:
    base = re.sub(r"[_-]+", "-", slugify(name))[:40].strip("-") or "business"
    base = base if len(base) >= 3 else f"{base}-biz"
    if base in RESERVED_SUBDOMAINS:
        base = f"{base}-biz"
    taken = set(
        Tenant.objects.filter(subdomain__startswith=base).values_list("subdomain", flat=True)
    )
    if base not in taken:
        return base
    return next(f"{base}-{n}" for n in range(2, len(taken) + 3) if f"{base}-{n}" not in taken)


def tenant_template_sync(*, verbosity: int = 0) -> None:
    """Create and migrate the schema new tenants are cloned from (settings.TENANT_BASE_SCHEMA)."""
    template = settings.TENANT_BASE_SCHEMA
    if not schema_exists(template):
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
    call_command(
        "migrate_schemas",
        tenant=True,
        schema_name=template,
        interactive=False,
        verbosity=verbosity,
    )


def schema_name_for(subdomain: str) -> str:
    return "t_" + subdomain.replace("-", "_")


def tenant_create(
    *,
    owner,
    name: str,
    subdomain: str = "",
    business_name: str = "",
    business_type: str = "",
    country: str = "TZ",
    timezone_name: str = "Africa/Dar_es_Salaam",
    contact_phone: str = "",
    contact_email: str = "",
) -> Tenant:
    """Create a tenant with its schema and primary domain; `owner` becomes its owner."""
    subdomain = subdomain_check(subdomain) if subdomain else _subdomain_from_name(name)
    tenant = Tenant(
        schema_name=schema_name_for(subdomain),
        name=name.strip(),
        subdomain=subdomain,
        business_name=business_name.strip() or name.strip(),
        business_type=business_type.strip(),
        country=country_code(country),
        timezone=timezone_check(timezone_name),
        contact_phone=contact_phone,
        contact_email=contact_email,
    )
    try:
        with schema_context(get_public_schema_name()), transaction.atomic():
            tenant.save(verbosity=0)
            Domain.objects.create(
                domain=f"{subdomain}.{settings.TENANT_BASE_DOMAIN}", tenant=tenant, is_primary=True
            )
            Membership.objects.create(user=owner, tenant=tenant, role=Role.OWNER)
    except IntegrityError as exc:  # a concurrent request took the subdomain first
        raise field_error("subdomain", f"The subdomain '{subdomain}' is already taken.") from exc
    if owner.active_tenant_id is None:
        owner.active_tenant = tenant
        owner.save(update_fields=["active_tenant", "updated_at"])
    publish("tenant.created", {"tenant_id": str(tenant.pk)})
    return tenant


TENANT_EDITABLE_FIELDS = (
    "name",
    "business_name",
    "business_type",
    "country",
    "timezone",
    "contact_phone",
    "contact_email",
    "settings",
)


def tenant_update(*, tenant: Tenant, data: dict) -> Tenant:
    """Update what a tenant's managers may change. New `settings` replace the tenant's own
    (already checked against TenantSettingsSerializer); the operator's keys stay as they are."""
    changes = {field: data[field] for field in TENANT_EDITABLE_FIELDS if field in data}
    if "settings" in changes:
        changes["settings"] = {**changes["settings"], **tenant.operator_settings}
    if "country" in changes:
        changes["country"] = country_code(changes["country"])
    if "timezone" in changes:
        timezone_check(changes["timezone"])
    for field, value in changes.items():
        setattr(tenant, field, value)
    if changes:
        with schema_context(get_public_schema_name()):
            tenant.save(update_fields=[*changes, "updated_at"])
    return tenant


def tenant_switch(*, user, membership: Membership) -> Tenant:
    user.active_tenant = membership.tenant
    user.save(update_fields=["active_tenant", "updated_at"])
    return membership.tenant


def _is_ip_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _is_platform_host(host: str) -> bool:
    """The API's own hosts, and names under TENANT_BASE_DOMAIN (those come with subdomains)."""
    base = settings.TENANT_BASE_DOMAIN
    return host in platform_hosts() or host == base or host.endswith(f".{base}")


@transaction.atomic
def domain_add(*, tenant: Tenant, domain: str, is_primary: bool = False) -> Domain:
    domain = domain.strip().lower().rstrip(".")
    if not HOSTNAME_RE.match(domain) or "." not in domain or _is_ip_address(domain):
        raise field_error("domain", f"'{domain}' is not a valid host name.")
    if Domain.objects.filter(domain=domain).exists():
        raise field_error("domain", f"The domain '{domain}' is already in use.")
    if _is_platform_host(domain):
        raise field_error("domain", f"'{domain}' belongs to Mifumo itself and cannot be added.")
    if is_primary:
        Domain.objects.filter(tenant=tenant, is_primary=True).update(is_primary=False)
    return Domain.objects.create(tenant=tenant, domain=domain, is_primary=is_primary)


def seats_taken(*, tenant: Tenant, replacing_email: str = "") -> int:
    """Active members plus pending invitations that have not expired (one to
    `replacing_email` is about to be replaced, so it does not count)."""
    invitations = tenant.invitations.filter(
        status=Invitation.Status.PENDING, expires_at__gt=timezone.now()
    ).exclude(email=replacing_email)
    members = tenant.memberships.filter(status=Membership.Status.ACTIVE)
    return members.count() + invitations.count()


def _seat_check(tenant: Tenant, taken: int) -> None:
    if tenant.user_limit is not None and taken >= tenant.user_limit:
        raise ApplicationError(
            f"The plan allows {tenant.user_limit} users and {taken} seats are taken; "
            "upgrade the plan or remove a member or an invitation first.",
            code=ErrorCode.PLAN_LIMIT_REACHED,
            status_code=status.HTTP_403_FORBIDDEN,
            details={"limit": tenant.user_limit, "used": taken},
        )


def tenant_user_limit_set(
    *, tenant_ids: "Iterable[object] | QuerySet[Any]", limit: int | None
) -> int:
    """Set how many users the tenants' plan allows (billing calls it when a plan changes), in
    one UPDATE; `tenant_ids` may be a query. Members already in stay; new invitations wait for
    a free seat. Returns how many tenants were changed."""
    return Tenant.objects.filter(pk__in=tenant_ids).update(
        user_limit=limit, updated_at=timezone.now()
    )


@transaction.atomic
def invitation_create(*, membership: Membership, email: str, role: str) -> Invitation:
    """Invite `email` to the membership's tenant; replaces any pending invitation to it."""
    tenant, email = membership.tenant, email.strip().lower()
    # The tenant's row lock keeps two invitations sent at once from both taking the last seat.
    Tenant.objects.select_for_update().filter(pk=tenant.pk).values_list("pk").get()
    if role == Role.OWNER and membership.role != Role.OWNER:
        raise ApplicationError(
            "Only an owner can invite another owner.",
            code=ErrorCode.PERMISSION_DENIED,
            status_code=status.HTTP_403_FORBIDDEN,
        )
    if tenant.memberships.filter(user__email=email).exists():
        raise field_error("email", f"{email} is already a member of this tenant.")
    _seat_check(tenant, seats_taken(tenant=tenant, replacing_email=email))
    tenant.invitations.filter(email=email, status=Invitation.Status.PENDING).update(
        status=Invitation.Status.REVOKED
    )
    token = secrets.token_urlsafe(32)
    invitation = Invitation.objects.create(
        tenant=tenant,
        email=email,
        role=role,
        token_hash=invitation_token_hash(token),
        invited_by=membership.user,
        expires_at=timezone.now() + settings.INVITATION_TTL,
    )
    email_send.delay_on_commit(  # type: ignore[attr-defined]  # a DjangoTask at run time
        subject=f"You are invited to {tenant.name} on Mifumo",
        body=(
            f"{membership.user.full_name or membership.user.email} invited you to join "
            f"{tenant.name} on Mifumo as {invitation.get_role_display().lower()}.\n\n"
            f"Accept: {settings.FRONTEND_URL}/invite/{token}\n"
            f"(API: POST {settings.PUBLIC_BASE_URL}/api/tenants/invite/{token}/ while signed in "
            f"as {email})\n\nThis invitation expires on {invitation.expires_at:%Y-%m-%d}."
        ),
        to=email,
    )
    return invitation


@transaction.atomic
def invitation_accept(*, token: str, user) -> Invitation:
    """Join the invitation's tenant with its role; the token is spent."""
    invitation = invitation_get(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.status != Invitation.Status.PENDING:
        raise ApplicationError(
            "This invitation was already used.",
            code=ErrorCode.INVALID_INVITATION,
            status_code=status.HTTP_404_NOT_FOUND,
        )
    if invitation.email != user.email.lower():
        raise ApplicationError(
            "This invitation was sent to another email address.",
            code=ErrorCode.PERMISSION_DENIED,
            status_code=status.HTTP_403_FORBIDDEN,
        )
    tenant = Tenant.objects.select_for_update().get(pk=invitation.tenant_id)
    if not tenant.memberships.filter(user=user).exists():
        # The invitation held a seat; a plan lowered since may have taken it away.
        members = tenant.memberships.filter(status=Membership.Status.ACTIVE).count()
        _seat_check(tenant, members)
    membership, _ = Membership.objects.update_or_create(
        user=user,
        tenant=invitation.tenant,
        defaults={"role": invitation.role, "status": Membership.Status.ACTIVE},
    )
    invitation.status = Invitation.Status.ACCEPTED
    invitation.accepted_by = user
    invitation.accepted_at = timezone.now()
    invitation.save(update_fields=["status", "accepted_by", "accepted_at"])
    if user.active_tenant_id is None:
        tenant_switch(user=user, membership=membership)
    return invitation
