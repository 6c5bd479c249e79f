"""Tenants (one Postgres schema each), their domains, memberships and invitations."""

import uuid

from django.conf import settings
from django.db import connection, models
from django_tenants.models import DomainMixin, TenantMixin
from django_tenants.utils import schema_exists

# One ALTER per table of the template with storage parameters (messaging_contact's fillfactor):
# the clone copies tables, not their parameters.
_CLONED_STORAGE_SQL = """
SELECT format('ALTER TABLE %%I.%%I SET (%%s)', %s::text, c.relname,
    array_to_string(c.reloptions, ', '))
FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace
WHERE n.nspname = %s AND c.relkind = 'r' AND c.reloptions IS NOT NULL
"""


class Tenant(TenantMixin):
    """A business using Mifumo. Its data lives in the schema `schema_name`.

    `settings` holds the tenant's own preferences (the keys TenantSettingsSerializer allows)
    beside keys only an operator sets in the admin (OPERATOR_SETTINGS), which the tenant's API
    neither shows nor changes.
    """

    SMS_PROVIDER_SETTING = "sms_provider"
    OPERATOR_SETTINGS = (SMS_PROVIDER_SETTING,)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200)
    subdomain = models.SlugField(max_length=63, unique=True)
    business_name = models.CharField(max_length=200, blank=True)
    business_type = models.CharField(max_length=100, blank=True)
    country = models.CharField(max_length=2, default="TZ", help_text="ISO 3166-1 alpha-2")
    timezone = models.CharField(max_length=64, default="Africa/Dar_es_Salaam")
    contact_phone = models.CharField(max_length=32, blank=True)
    contact_email = models.EmailField(blank=True)
    is_active = models.BooleanField(default=True)
    settings = models.JSONField(default=dict, blank=True)
    user_limit = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        help_text="Members plus pending invitations allowed, set from the plan by billing; "
        "empty: any number",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    auto_create_schema = True

    class Meta:
        ordering = ["name"]

    def create_schema(self, check_if_exists=False, sync_schema=True, verbosity=1):
        """django-tenants' schema creation, a clone of the migrated template
        (TENANT_BASE_SCHEMA) when there is one, then the template tables' storage parameters
        on their clones."""
        created = super().create_schema(check_if_exists, sync_schema, verbosity)
        base = self.get_base_schema()
        if created is not False and sync_schema and base and schema_exists(base):
            with connection.cursor() as cursor:
                cursor.execute(_CLONED_STORAGE_SQL, [self.schema_name, base])
                for (statement,) in cursor.fetchall():
                    cursor.execute(statement)
        return created

    def __str__(self):
        return f"{self.name} ({self.subdomain})"

    @property
    def sms_provider_name(self) -> str | None:
        """The provider an operator picked for this tenant; None: the platform's."""
        return (self.settings or {}).get(self.SMS_PROVIDER_SETTING) or None

    @property
    def own_settings(self) -> dict:
        """The settings the tenant itself sets and sees."""
        return {
            key: value
            for key, value in (self.settings or {}).items()
            if key not in self.OPERATOR_SETTINGS
        }

    @property
    def operator_settings(self) -> dict:
        return {k: v for k, v in (self.settings or {}).items() if k in self.OPERATOR_SETTINGS}


class Domain(DomainMixin):
    """A hostname that selects its tenant (DESIGN section 2)."""

    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["domain"]


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"


MANAGER_ROLES = (Role.OWNER, Role.ADMIN)


class Membership(models.Model):
    """A user's place in a tenant.

    Status: active -> suspended -> active. Only active memberships reach tenant data.
    """

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["user", "tenant"], name="unique_membership"),
        ]

    def __str__(self):
        return f"{self.user} in {self.tenant} as {self.role}"

    @property
    def can_manage(self) -> bool:
        return self.role in MANAGER_ROLES


class Invitation(models.Model):
    """An emailed invitation to join a tenant with a role.

    Status: pending -> accepted | revoked. A pending invitation past `expires_at` is expired.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        ACCEPTED = "accepted", "Accepted"
        REVOKED = "revoked", "Revoked"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.AGENT)
    token_hash = models.CharField(
        max_length=64, unique=True, help_text="sha256 of the emailed token"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    accepted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "status"])]

    def __str__(self):
        return f"{self.email} to {self.tenant} ({self.status})"
