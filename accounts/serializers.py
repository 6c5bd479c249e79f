from django.conf import settings
from drf_yasg.utils import swagger_serializer_method
from rest_framework import serializers

from accounts.models import User
from mifumo.phone import InvalidPhoneNumber, PhoneNumberField, normalize_phone
from tenants.services import country_code


class UserSerializer(serializers.ModelSerializer):
    last_login_at = serializers.DateTimeField(source="last_login", read_only=True, allow_null=True)
    # A model property: without a declared type the schema would call it a string.
    is_verified = serializers.BooleanField(read_only=True)

    class Meta:
        model = User
        fields = [
            "id",
            "email",
            "first_name",
            "last_name",
            "full_name",
            "short_name",
            "phone_number",
            "timezone",
            "language",
            "theme",
            "is_verified",
            "is_active",
            "phone_verified",
            "email_verified",
            "email_notifications",
            "sms_notifications",
            "created_at",
            "updated_at",
            "last_login_at",
        ]
        read_only_fields = fields


class TokenPairSerializer(serializers.Serializer):
    access = serializers.CharField()
    refresh = serializers.CharField()


class AccessTokenSerializer(serializers.Serializer):
    """The refresh response: refresh tokens are not rotated, so only `access` comes back."""

    access = serializers.CharField()


class RegisterSerializer(serializers.Serializer):
    email = serializers.EmailField()
    first_name = serializers.CharField(max_length=150)
    last_name = serializers.CharField(max_length=150)
    phone_number = serializers.CharField(max_length=32)
    password = serializers.CharField(write_only=True, style={"input_type": "password"})
    password_confirm = serializers.CharField(write_only=True, style={"input_type": "password"})
    timezone = serializers.CharField(max_length=64, default="Africa/Dar_es_Salaam")
    business_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    company_name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    subdomain = serializers.CharField(max_length=63, required=False, allow_blank=True)
    country = serializers.CharField(max_length=100, default="TZ")

    def validate(self, attrs):
        if attrs["password"] != attrs["password_confirm"]:
            raise serializers.ValidationError({"password_confirm": ["Passwords do not match."]})
        attrs["country"] = country_code(attrs["country"])
        try:
            attrs["phone_number"] = normalize_phone(attrs["phone_number"], attrs["country"])
        except InvalidPhoneNumber as exc:
            raise serializers.ValidationError({"phone_number": [str(exc)]}) from exc
        return attrs


class RegisterResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    user = UserSerializer()
    email_verification_sent = serializers.BooleanField()
    sms_verification_sent = serializers.BooleanField()
    account_active = serializers.BooleanField()
    requires_activation = serializers.BooleanField()
    activation_required = serializers.BooleanField()
    tokens = TokenPairSerializer(allow_null=True)


class _EmailOrPhoneSerializer(serializers.Serializer):
    email = serializers.EmailField(required=False, allow_blank=True)
    phone_number = PhoneNumberField(required=False, allow_blank=True)

    def validate(self, attrs):
        if not attrs.get("email") and not attrs.get("phone_number"):
            raise serializers.ValidationError(
                {"non_field_errors": ["Give the account's email or phone_number."]}
            )
        return attrs


def _six_digits(**kwargs) -> serializers.RegexField:
    return serializers.RegexField(
        r"^\s*\d{6}\s*$", error_messages={"invalid": "Enter the 6-digit code."}, **kwargs
    )


class VerifyCodeSerializer(_EmailOrPhoneSerializer):
    """The code spelled `code` or, as the SMS routes of the dashboard send it,
    `verification_code`; either way the service gets `code`."""

    code = _six_digits(required=False)
    verification_code = _six_digits(required=False)

    def validate(self, attrs):
        attrs = super().validate(attrs)
        spelled_long = attrs.pop("verification_code", None)
        attrs["code"] = attrs.get("code") or spelled_long
        if not attrs["code"]:
            raise serializers.ValidationError({"code": ["Enter the 6-digit code."]})
        return attrs


class ResendActivationSerializer(_EmailOrPhoneSerializer):
    pass


class LoginSerializer(serializers.Serializer):
    email = serializers.EmailField()
    password = serializers.CharField(style={"input_type": "password"})


class AuthResponseSerializer(serializers.Serializer):
    message = serializers.CharField()
    user = UserSerializer()
    tokens = TokenPairSerializer()


class LogoutSerializer(serializers.Serializer):
    refresh = serializers.CharField()


class MessageSerializer(serializers.Serializer):
    message = serializers.CharField()


class MembershipSummarySerializer(serializers.Serializer):
    tenant_id = serializers.UUIDField(source="tenant.id")
    name = serializers.CharField(source="tenant.name")
    subdomain = serializers.CharField(source="tenant.subdomain")
    role = serializers.CharField()


class ProfileSerializer(UserSerializer):
    """The user, their active memberships, and the membership this request runs in."""

    memberships = MembershipSummarySerializer(many=True, source="active_memberships")
    active_tenant = serializers.SerializerMethodField()

    class Meta(UserSerializer.Meta):
        fields = [*UserSerializer.Meta.fields, "memberships", "active_tenant"]
        read_only_fields = fields

    @swagger_serializer_method(serializer_or_field=MembershipSummarySerializer)
    def get_active_tenant(self, user):
        membership = self.context.get("membership")
        return MembershipSummarySerializer(membership).data if membership else None


class PreferencesSerializer(serializers.Serializer):
    timezone = serializers.CharField(
        max_length=64, required=False, help_text="An IANA time zone, e.g. Africa/Dar_es_Salaam"
    )
    language = serializers.ChoiceField(choices=settings.LANGUAGES, required=False)
    theme = serializers.ChoiceField(choices=User.Theme.choices, required=False)


class NotificationSettingsSerializer(serializers.Serializer):
    email_notifications = serializers.BooleanField(required=False)
    sms_notifications = serializers.BooleanField(required=False)


class ProfileUpdateSerializer(PreferencesSerializer, NotificationSettingsSerializer):
    first_name = serializers.CharField(max_length=150, required=False)
    last_name = serializers.CharField(max_length=150, required=False)
    phone_number = PhoneNumberField(required=False)


class PasswordChangeSerializer(serializers.Serializer):
    old_password = serializers.CharField(style={"input_type": "password"})
    new_password = serializers.CharField(style={"input_type": "password"})


class PasswordResetSerializer(serializers.Serializer):
    email = serializers.EmailField()


class PasswordResetConfirmSerializer(serializers.Serializer):
    token = serializers.CharField()
    new_password = serializers.CharField(style={"input_type": "password"})


class TokenSerializer(serializers.Serializer):
    token = serializers.CharField()


class SmsPasswordResetSerializer(serializers.Serializer):
    phone_number = PhoneNumberField()


class SmsPasswordResetConfirmSerializer(serializers.Serializer):
    phone_number = PhoneNumberField()
    verification_code = _six_digits()
    new_password = serializers.CharField(style={"input_type": "password"})
    new_password_confirm = serializers.CharField(style={"input_type": "password"})

    def validate(self, attrs):
        if attrs["new_password"] != attrs["new_password_confirm"]:
            raise serializers.ValidationError({"new_password_confirm": ["Passwords do not match."]})
        return attrs
