"""Auth and profile routes. Register, login, verify (and its link), refresh and logout answer the
seed shapes of the "Complete API Reference"; the rest answer the envelope. Routes the seeds and
the dashboard spell twice are one view at two paths (see urls.py)."""

from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_simplejwt.serializers import TokenRefreshSerializer
from rest_framework_simplejwt.views import TokenRefreshView

from accounts import serializers as s
from accounts import services
from accounts.selectors import profile_get
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.responses import envelope
from mifumo.validation import validated

TAGS = ["auth"]


class PublicAuthView(APIView):
    """Routes reached without a token, limited per client IP (settings.RATE_LIMITS['auth'])."""

    authentication_classes = ()
    permission_classes = (AllowAny,)
    rate_limit_by = "ip"


class RegisterView(PublicAuthView):
    rate_limit_scopes = ("auth:register",)

    @api_doc(
        summary="Register a user and their business",
        request=s.RegisterSerializer,
        responses={201: s.RegisterResponseSerializer},
        errors=(400, 422, 429),
        tags=TAGS,
        public=True,
    )
    @idempotent
    def post(self, request):
        fields = validated(s.RegisterSerializer, request)
        user = services.user_register(
            email=fields["email"],
            password=fields["password"],
            first_name=fields["first_name"],
            last_name=fields["last_name"],
            phone_number=fields["phone_number"],
            timezone_name=fields["timezone"],
            business_name=fields.get("business_name", ""),
            company_name=fields.get("company_name", ""),
            subdomain=fields.get("subdomain", ""),
            country=fields["country"],
        )
        body = {
            "message": "User created successfully. Please check your phone for the verification "
            "code to activate your account.",
            "user": s.UserSerializer(user).data,
            "email_verification_sent": True,
            "sms_verification_sent": True,
            "account_active": False,
            "requires_activation": True,
            "activation_required": True,
            "tokens": None,
        }
        return Response(body, status=status.HTTP_201_CREATED)


class VerifyCodeView(PublicAuthView):
    rate_limit_scopes = ("auth:verify",)

    @api_doc(
        summary="Activate an account with the SMS code",
        request=s.VerifyCodeSerializer,
        responses={200: s.AuthResponseSerializer},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def post(self, request):
        data = validated(s.VerifyCodeSerializer, request)
        user = services.account_activate(
            code=data["code"],
            email=data.get("email", ""),
            phone_number=data.get("phone_number", ""),
        )
        return _activated(user)


def _activated(user) -> Response:
    return Response(
        {
            "message": "Account activated successfully.",
            "user": s.UserSerializer(user).data,
            "tokens": services.tokens_for(user),
        }
    )


class ActivateAccountView(PublicAuthView):
    rate_limit_scopes = ("auth:activate-link",)

    @api_doc(
        summary="Activate an account from the link texted with its code",
        responses={200: s.AuthResponseSerializer},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def get(self, request, code):
        return _activated(services.account_activate_by_link(token=code))


class ResendActivationView(PublicAuthView):
    rate_limit_scopes = ("auth:resend",)

    @api_doc(
        summary="Send a new activation code",
        request=s.ResendActivationSerializer,
        responses={200: enveloped(None)},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def post(self, request):
        data = validated(s.ResendActivationSerializer, request)
        services.activation_code_resend(
            email=data.get("email", ""),
            phone_number=data.get("phone_number", ""),
        )
        return envelope(
            message="If an account awaiting activation matches, a new code has been sent."
        )


class LoginView(PublicAuthView):
    rate_limit_scopes = ("auth:login",)

    @api_doc(
        summary="Sign in with email and password",
        request=s.LoginSerializer,
        responses={200: s.AuthResponseSerializer},
        errors=(400, 401, 429),
        tags=TAGS,
        public=True,
    )
    def post(self, request):
        data = validated(s.LoginSerializer, request)
        user = services.user_authenticate(**data)
        return Response(
            {
                "message": "Login successful",
                "user": s.UserSerializer(user).data,
                "tokens": services.tokens_for(user),
            }
        )


class RefreshView(TokenRefreshView):
    authentication_classes = ()

    @api_doc(
        summary="Get a new access token from a refresh token",
        request=TokenRefreshSerializer,
        responses={200: s.AccessTokenSerializer},
        errors=(400, 401),
        tags=TAGS,
        public=True,
    )
    def post(self, request, *args, **kwargs):
        return super().post(request, *args, **kwargs)


class LogoutView(APIView):
    @api_doc(
        summary="Sign out: blacklist the refresh token",
        request=s.LogoutSerializer,
        responses={200: s.MessageSerializer},
        errors=(400, 401),
        tags=TAGS,
    )
    def post(self, request):
        data = validated(s.LogoutSerializer, request)
        services.refresh_token_blacklist(user=request.user, refresh=data["refresh"])
        return Response({"message": "Logout successful"})


class ProfileView(APIView):
    def _render(self, request, message="OK"):
        user = profile_get(user=request.user)
        context = {"membership": request.membership}
        return envelope(s.ProfileSerializer(user, context=context).data, message=message)

    def _update(self, request, serializer_class, message):
        data = validated(serializer_class, request)
        services.user_update(user=request.user, data=data)
        return self._render(request, message=message)

    @api_doc(
        summary="The signed-in user with their tenants",
        responses={200: enveloped(s.ProfileSerializer)},
        errors=(401,),
        tags=TAGS,
    )
    def get(self, request):
        return self._render(request)

    @api_doc(
        summary="Update the signed-in user's profile",
        request=s.ProfileUpdateSerializer,
        responses={200: enveloped(s.ProfileSerializer)},
        errors=(400, 401),
        tags=TAGS,
    )
    def put(self, request):
        return self._update(request, s.ProfileUpdateSerializer, "Profile updated.")


class PreferencesView(ProfileView):
    """The profile, updated through the settings page's preferences form."""

    @api_doc(
        summary="Update the signed-in user's time zone, language and theme",
        request=s.PreferencesSerializer,
        responses={200: enveloped(s.ProfileSerializer)},
        errors=(400, 401),
        tags=TAGS,
    )
    def put(self, request):
        return self._update(request, s.PreferencesSerializer, "Preferences updated.")


class NotificationSettingsView(ProfileView):
    """The profile, updated through the settings page's notifications form."""

    @api_doc(
        summary="Choose which notifications the signed-in user gets by email and SMS",
        request=s.NotificationSettingsSerializer,
        responses={200: enveloped(s.ProfileSerializer)},
        errors=(400, 401),
        tags=TAGS,
    )
    def put(self, request):
        return self._update(
            request, s.NotificationSettingsSerializer, "Notification settings updated."
        )


class PasswordChangeView(APIView):
    @api_doc(
        summary="Change password (signs out other sessions, returns new tokens)",
        request=s.PasswordChangeSerializer,
        responses={200: enveloped(s.TokenPairSerializer)},
        errors=(400, 401),
        tags=TAGS,
    )
    def post(self, request):
        data = validated(s.PasswordChangeSerializer, request)
        tokens = services.password_change(user=request.user, **data)
        return envelope({"tokens": tokens}, message="Password changed.")


class PasswordResetView(PublicAuthView):
    rate_limit_scopes = ("auth:password-reset",)

    @api_doc(
        summary="Email a password reset link",
        request=s.PasswordResetSerializer,
        responses={200: enveloped(None)},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def post(self, request):
        data = validated(s.PasswordResetSerializer, request)
        services.password_reset_request(email=data["email"])
        return envelope(message="If an account uses this email, a reset link has been sent.")


class PasswordResetConfirmView(PublicAuthView):
    rate_limit_scopes = ("auth:password-reset-confirm",)

    @api_doc(
        summary="Set a new password with the emailed token",
        request=s.PasswordResetConfirmSerializer,
        responses={200: enveloped(None)},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def post(self, request):
        data = validated(s.PasswordResetConfirmSerializer, request)
        services.password_reset_confirm(**data)
        return envelope(message="Password has been reset. Sign in with the new password.")


class SmsPasswordResetView(PublicAuthView):
    rate_limit_scopes = ("auth:sms-password-reset",)

    @api_doc(
        summary="Text a password reset code to the account's verified phone number",
        request=s.SmsPasswordResetSerializer,
        responses={200: enveloped(None)},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def post(self, request):
        data = validated(s.SmsPasswordResetSerializer, request)
        services.password_reset_code_send(phone_number=data["phone_number"])
        return envelope(
            message="If an account has verified this phone number, a reset code has been sent."
        )


class SmsPasswordResetConfirmView(PublicAuthView):
    rate_limit_scopes = ("auth:sms-password-reset-confirm",)

    @api_doc(
        summary="Set a new password with the texted code (signs out every session)",
        request=s.SmsPasswordResetConfirmSerializer,
        responses={200: enveloped(None)},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def post(self, request):
        data = validated(s.SmsPasswordResetConfirmSerializer, request)
        services.password_reset_code_confirm(
            phone_number=data["phone_number"],
            code=data["verification_code"],
            new_password=data["new_password"],
        )
        return envelope(message="Password has been reset. Sign in with the new password.")


def _email_verified(token: str) -> Response:
    user = services.email_verify(token=token)
    return envelope(s.UserSerializer(user).data, message="Email verified.")


class VerifyEmailView(PublicAuthView):
    rate_limit_scopes = ("auth:verify-email",)

    @api_doc(
        summary="Confirm an email address with the emailed token",
        request=s.TokenSerializer,
        responses={200: enveloped(s.UserSerializer)},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def post(self, request):
        return _email_verified(validated(s.TokenSerializer, request)["token"])


class VerifyEmailLinkView(PublicAuthView):
    """The link in the verification email: opening it verifies, as POST verify-email/ does."""

    rate_limit_scopes = ("auth:verify-email",)

    @api_doc(
        summary="Confirm an email address by opening the emailed link",
        responses={200: enveloped(s.UserSerializer)},
        errors=(400, 429),
        tags=TAGS,
        public=True,
    )
    def get(self, request, token):
        return _email_verified(token)
