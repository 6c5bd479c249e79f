from drf_yasg.utils import swagger_serializer_method
from rest_framework import serializers

from mifumo.phone import PhoneNumberField
from tenants.models import Domain, Invitation, Membership, Role, Tenant


class TenantSettingsSerializer(serializers.Serializer):
    """The preferences a tenant keeps in its settings: an allow-list. The SMS provider and any
    other operator setting is refused here; operators set them in the admin."""

    default_sender_id = serializers.CharField(max_length=11, required=False, allow_blank=True)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True)
    date_format = serializers.CharField(max_length=32, required=False, allow_blank=True)
    notification_email = serializers.EmailField(required=False, allow_blank=True)
    low_balance_alert_credits = serializers.IntegerField(
        min_value=0, max_value=10**9, required=False
    )

    def to_internal_value(self, data):
        if not isinstance(data, dict):
            raise serializers.ValidationError("Must be a JSON object.")
        operator = [key for key in data if key in Tenant.OPERATOR_SETTINGS]
        unknown = [key for key in data if key not in self.fields and key not in operator]
        errors = {key: ["Set by an operator; a tenant cannot change it."] for key in operator}
        errors |= {
            key: [f"Not a tenant setting; allowed: {', '.join(self.fields)}."] for key in unknown
        }
        if errors:
            raise serializers.ValidationError(errors)
        return super().to_internal_value(data)


class TenantSerializer(serializers.ModelSerializer):
    role = serializers.SerializerMethodField(help_text="The requesting user's role")
    settings = TenantSettingsSerializer(source="own_settings", read_only=True)
    primary_domain = serializers.SerializerMethodField()

    class Meta:
        model = Tenant
        fields = [
            "id",
            "name",
            "subdomain",
            "business_name",
            "business_type",
            "country",
            "timezone",
            "contact_phone",
            "contact_email",
            "is_active",
            "settings",
            "role",
            "primary_domain",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @swagger_serializer_method(serializer_or_field=serializers.ChoiceField(Role.choices))
    def get_role(self, tenant):
        return self.context.get("roles", {}).get(tenant.id)

    @swagger_serializer_method(serializer_or_field=serializers.CharField(allow_null=True))
    def get_primary_domain(self, tenant):
        primary = [d.domain for d in tenant.domains.all() if d.is_primary]
        return primary[0] if primary else None


class _TenantFieldsSerializer(serializers.Serializer):
    """Tenant fields a manager sets. `phone_number`/`email` are the seed's spellings."""

    name = serializers.CharField(max_length=200)
    business_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    business_type = serializers.CharField(max_length=100, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, required=False)
    timezone = serializers.CharField(max_length=64, required=False)
    contact_phone = PhoneNumberField(required=False, allow_blank=True)
    phone_number = PhoneNumberField(required=False, allow_blank=True, write_only=True)
    contact_email = serializers.EmailField(required=False, allow_blank=True)
    email = serializers.EmailField(required=False, allow_blank=True, write_only=True)
    settings = TenantSettingsSerializer(required=False)

    def validate(self, attrs):
        if "phone_number" in attrs:
            attrs.setdefault("contact_phone", attrs.pop("phone_number"))
        if "email" in attrs:
            attrs.setdefault("contact_email", attrs.pop("email"))
        return attrs


class TenantCreateSerializer(_TenantFieldsSerializer):
    subdomain = serializers.CharField(max_length=63, required=False, allow_blank=True)


class TenantUpdateSerializer(_TenantFieldsSerializer):
    name = serializers.CharField(max_length=200, required=False)


class TenantSwitchSerializer(serializers.Serializer):
    tenant_id = serializers.UUIDField()


class DomainSerializer(serializers.ModelSerializer):
    class Meta:
        model = Domain
        fields = ["id", "domain", "is_primary", "created_at"]
        read_only_fields = fields


class DomainCreateSerializer(serializers.Serializer):
    domain = serializers.CharField(max_length=253)
    is_primary = serializers.BooleanField(default=False)


class MemberSerializer(serializers.ModelSerializer):
    user_id = serializers.IntegerField(source="user.id")
    email = serializers.EmailField(source="user.email")
    first_name = serializers.CharField(source="user.first_name")
    last_name = serializers.CharField(source="user.last_name")
    full_name = serializers.CharField(source="user.full_name")

    class Meta:
        model = Membership
        fields = [
            "id",
            "user_id",
            "email",
            "first_name",
            "last_name",
            "full_name",
            "role",
            "status",
            "created_at",
        ]
        read_only_fields = fields


class InviteSerializer(serializers.Serializer):
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.choices, default=Role.AGENT)


class TenantSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Tenant
        fields = ["id", "name", "subdomain"]
        read_only_fields = fields


class InvitationSerializer(serializers.ModelSerializer):
    tenant = TenantSummarySerializer()
    invited_by = serializers.SerializerMethodField()

    class Meta:
        model = Invitation
        fields = [
            "id",
            "tenant",
            "email",
            "role",
            "status",
            "invited_by",
            "expires_at",
            "created_at",
        ]
        read_only_fields = fields

    @swagger_serializer_method(serializer_or_field=serializers.CharField(allow_null=True))
    def get_invited_by(self, invitation):
        inviter = invitation.invited_by
        return (inviter.full_name or inviter.email) if inviter else None
