"""Every write to accounts: registration, activation codes and links, sign-in, profile and
preferences, passwords (changed, reset by an emailed link or a texted code), email verification."""

import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import cast

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core import signing
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode
from rest_framework import status
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.models import User, VerificationCode
from mifumo.errors import ApplicationError, ErrorCode, field_error
from mifumo.ratelimit import rate_limit_hit
from mifumo.tasks import email_send
from sms.services import platform_sms_send
from tenants.services import tenant_create, timezone_check

EMAIL_VERIFICATION_SALT = "accounts.email-verification"
ACTIVATION_LINK_SALT = "accounts.activation-link"


def _check_password_strength(password: str, user: User, field: str) -> None:
    try:
        validate_password(password, user)
    except DjangoValidationError as exc:
        raise ApplicationError(
            exc.messages[0], code=ErrorCode.VALIDATION_ERROR, errors={field: exc.messages}
        ) from exc


def _public_url(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL.rstrip('/')}{path}"


def tokens_for(user: User) -> dict:
    refresh = RefreshToken.for_user(user)
    return {"refresh": str(refresh), "access": str(refresh.access_token)}


@transaction.atomic
def user_register(
    *,
    email: str,
    password: str,
    first_name: str,
    last_name: str,
    phone_number: str,
    timezone_name: str,
    business_name: str = "",
    company_name: str = "",
    subdomain: str = "",
    country: str = "TZ",
) -> User:
    """Create an inactive user, their business's tenant, and send the activation code."""
    email = email.strip().lower()
    if User.objects.filter(email=email).exists():
        raise field_error("email", "A user with this email already exists.")
    user = User(
        email=email,
        first_name=first_name,
        last_name=last_name,
        phone_number=phone_number,
        timezone=timezone_name,
        is_active=False,
    )
    _check_password_strength(password, user, "password")
    user.set_password(password)
    user.save()
    tenant_name = business_name or company_name or f"{user.full_name or email}'s business"
    tenant_create(
        owner=user,
        name=tenant_name,
        subdomain=subdomain,
        business_name=company_name or business_name,
        country=country,
        timezone_name=timezone_name,
        contact_phone=phone_number,
        contact_email=email,
    )
    activation_code_send(user=user)
    email_verification_send(user=user)
    return user


def _code_hash(user_id: int, purpose: str, code: str) -> str:
    message = f"{user_id}:{purpose}:{code}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), message, hashlib.sha256).hexdigest()


def _too_many_codes(whom: str) -> ApplicationError:
    return ApplicationError(
        f"Too many verification codes requested for this {whom}; try again later.",
        code=ErrorCode.RATE_LIMIT_EXCEEDED,
        status_code=status.HTTP_429_TOO_MANY_REQUESTS,
    )


def _code_issue(*, user: User, purpose: str) -> tuple[VerificationCode, str]:
    """A new live code of `purpose` for `user` (retiring their live ones) and its digits."""
    now = timezone.now()
    VerificationCode.objects.filter(user=user, purpose=purpose, consumed_at__isnull=True).update(
        consumed_at=now
    )
    code = f"{secrets.randbelow(10**6):06d}"
    record = VerificationCode.objects.create(
        user=user,
        purpose=purpose,
        phone_number=user.phone_number,
        code_hash=_code_hash(user.pk, purpose, code),
        expires_at=now + settings.VERIFICATION_CODE_TTL,
    )
    return record, code


def _code_minutes() -> int:
    return int(settings.VERIFICATION_CODE_TTL.total_seconds() // 60)


def activation_link(record: VerificationCode) -> str:
    """The link texted with an activation code: it activates with that code's record, once."""
    token = signing.Signer(salt=ACTIVATION_LINK_SALT).sign(str(record.pk))
    return _public_url(reverse("auth-activate-account", args=[token]))


@transaction.atomic
def activation_code_send(*, user: User) -> None:
    """Issue a new 6-digit code (retiring live ones) and text it, with its link, to the user."""
    if not rate_limit_hit("verification_sms", f"user:{user.pk}").allowed:
        raise _too_many_codes("account")
    record, code = _code_issue(user=user, purpose=VerificationCode.Purpose.ACTIVATION)
    platform_sms_send(
        to=user.phone_number,
        # Short enough, with its link, for one SMS segment: every sign-up pays for it.
        text=f"Mifumo code: {code} (valid {_code_minutes()} min). "
        f"Or open {activation_link(record)}",
    )


def activation_code_resend(*, email: str = "", phone_number: str = "") -> None:
    """Send a fresh code to an account awaiting activation; silent when there is none."""
    users = User.objects.filter(is_active=False)
    user = (
        users.filter(email=email.strip().lower()).first()
        if email
        else users.filter(phone_number=phone_number).order_by("-created_at").first()
    )
    if user is not None:
        activation_code_send(user=user)


def _pending_activation_user(*, email: str, phone_number: str) -> User | None:
    if email:
        return User.objects.filter(email=email.strip().lower()).first()
    live = (
        VerificationCode.objects.select_related("user")
        .filter(
            phone_number=phone_number,
            purpose=VerificationCode.Purpose.ACTIVATION,
            consumed_at__isnull=True,
        )
        .order_by("-created_at")
        .first()
    )
    return live.user if live else None


def _invalid_code() -> ApplicationError:
    return ApplicationError(
        "Invalid or expired verification code.", code=ErrorCode.INVALID_VERIFICATION_CODE
    )


def account_activate(*, code: str, email: str = "", phone_number: str = "") -> User:
    """Check an activation code; on success the account becomes active and phone-verified."""
    user = _pending_activation_user(email=email, phone_number=phone_number)
    if user is None:
        raise _invalid_code()
    if user.is_active:
        raise ApplicationError(
            "This account is already active; sign in instead.",
            code=ErrorCode.ACCOUNT_ALREADY_ACTIVE,
        )
    # A wrong code's attempt must be counted, so the error is raised after the block commits.
    with transaction.atomic():
        record = (
            VerificationCode.objects.select_for_update()
            .filter(
                user=user, purpose=VerificationCode.Purpose.ACTIVATION, consumed_at__isnull=True
            )
            .order_by("-created_at")
            .first()
        )
        error = _code_check(record, code)
        if error is None:  # only a live record passes the check
            _activation_complete(user, cast(VerificationCode, record))
    if error is not None:
        raise error
    return user


def account_activate_by_link(*, token: str) -> User:
    """Activate with the link texted beside the code: its signature stands for the digits."""
    try:
        record_id = int(signing.Signer(salt=ACTIVATION_LINK_SALT).unsign(token))
    except (signing.BadSignature, ValueError) as exc:
        raise _invalid_code() from exc
    with transaction.atomic():
        record = (
            VerificationCode.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(pk=record_id, purpose=VerificationCode.Purpose.ACTIVATION)
            .first()
        )
        if record is None:
            raise _invalid_code()
        user = record.user
        if user.is_active:
            raise ApplicationError(
                "This account is already active; sign in instead.",
                code=ErrorCode.ACCOUNT_ALREADY_ACTIVE,
            )
        error = _invalid_code() if record.consumed_at else _code_unusable(record)
        if error is not None:
            raise error
        _activation_complete(user, record)
    return user


def _activation_complete(user: User, record: VerificationCode) -> None:
    now = timezone.now()
    record.consumed_at = now
    record.save(update_fields=["consumed_at"])
    user.is_active = True
    user.phone_verified = True
    user.last_login = now
    user.save(update_fields=["is_active", "phone_verified", "last_login", "updated_at"])


def _code_unusable(record) -> ApplicationError | None:
    """Why the live `record` (None: there is none) cannot be used at all, or None."""
    if record is None:
        return _invalid_code()
    if record.expires_at <= timezone.now():
        return ApplicationError(
            "This verification code has expired; request a new one.",
            code=ErrorCode.VERIFICATION_CODE_EXPIRED,
        )
    if record.attempts >= settings.VERIFICATION_CODE_MAX_ATTEMPTS:
        return ApplicationError(
            "Too many wrong attempts for this code; request a new one.",
            code=ErrorCode.TOO_MANY_ATTEMPTS,
        )
    return None


def _code_check(record, code: str) -> ApplicationError | None:
    """None when `code` matches the live `record`; otherwise the error, counting the attempt."""
    error = _code_unusable(record)
    if error is not None:
        return error
    expected = _code_hash(record.user_id, record.purpose, code.strip())
    if hmac.compare_digest(record.code_hash, expected):
        return None
    record.attempts += 1
    record.save(update_fields=["attempts"])
    return _invalid_code()


def user_authenticate(*, email: str, password: str) -> User:
    user = User.objects.filter(email=email.strip().lower()).first()
    if user is None:
        User().set_password(password)  # same hashing cost whether or not the email exists
        raise ApplicationError(
            "Invalid email or password.",
            code=ErrorCode.INVALID_CREDENTIALS,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    if not user.check_password(password):
        raise ApplicationError(
            "Invalid email or password.",
            code=ErrorCode.INVALID_CREDENTIALS,
            status_code=status.HTTP_401_UNAUTHORIZED,
        )
    if not user.is_active:
        raise ApplicationError(
            "This account needs activation: enter the code we sent by SMS, or request a new "
            "one at /api/auth/resend-activation/.",
            code=ErrorCode.ACCOUNT_NOT_ACTIVATED,
        )
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    return user


def refresh_token_blacklist(*, user: User, refresh: str) -> None:
    try:
        token = RefreshToken(refresh)  # type: ignore[arg-type]  # simplejwt types it as Token
    except TokenError as exc:
        raise field_error("refresh", "Invalid or expired refresh token.") from exc
    if str(token.get("user_id")) != str(user.pk):
        raise field_error("refresh", "This refresh token belongs to another user.")
    token.blacklist()


def _blacklist_all_refresh_tokens(user: User) -> None:
    outstanding = OutstandingToken.objects.filter(user=user, expires_at__gt=timezone.now())
    BlacklistedToken.objects.bulk_create(
        [BlacklistedToken(token=token) for token in outstanding], ignore_conflicts=True
    )


def user_update(*, user: User, data: dict) -> User:
    """Profile, preferences and notification settings: whichever of them `data` holds."""
    editable = {
        "first_name",
        "last_name",
        "phone_number",
        "timezone",
        "language",
        "theme",
        "email_notifications",
        "sms_notifications",
    }
    if "timezone" in data:
        timezone_check(data["timezone"])
    changed = [field for field in editable & data.keys() if getattr(user, field) != data[field]]
    for field in changed:
        setattr(user, field, data[field])
    if "phone_number" in changed:
        user.phone_verified = False
        changed.append("phone_verified")
    if changed:
        user.save(update_fields=[*changed, "updated_at"])
    return user


@transaction.atomic
def password_change(*, user: User, old_password: str, new_password: str) -> dict:
    """Change the password, sign out every other session, and hand back fresh tokens."""
    if not user.check_password(old_password):
        raise field_error("old_password", "The current password is incorrect.")
    _check_password_strength(new_password, user, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    _blacklist_all_refresh_tokens(user)
    return tokens_for(user)


def password_reset_request(*, email: str) -> None:
    """Email a reset link when an active account has this email; silent otherwise."""
    user = User.objects.filter(email=email.strip().lower(), is_active=True).first()
    if user is None:
        return
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = f"{uid}.{default_token_generator.make_token(user)}"
    link = f"{settings.FRONTEND_URL}/reset-password?token={token}"
    email_send.delay_on_commit(  # type: ignore[attr-defined]  # a DjangoTask at run time
        subject="Reset your Mifumo password",
        body=(
            f"Someone asked to reset the password of your Mifumo account.\n\n"
            f"Open {link}\nor send this token to POST /api/auth/password/reset/confirm/:\n"
            f"{token}\n\nIf it was not you, ignore this email."
        ),
        to=user.email,
    )


@transaction.atomic
def password_reset_confirm(*, token: str, new_password: str) -> User:
    invalid = ApplicationError(
        "This password reset link is invalid or has expired.", code=ErrorCode.INVALID_RESET_TOKEN
    )
    uid, _, secret = token.partition(".")
    try:
        user = User.objects.get(pk=int(force_str(urlsafe_base64_decode(uid))), is_active=True)
    except (ValueError, TypeError, User.DoesNotExist) as exc:
        raise invalid from exc
    if not default_token_generator.check_token(user, secret):
        raise invalid
    _check_password_strength(new_password, user, "new_password")
    user.set_password(new_password)
    user.save(update_fields=["password", "updated_at"])
    _blacklist_all_refresh_tokens(user)
    return user


def password_reset_code_send(*, phone_number: str) -> None:
    """Text a 6-digit reset code when an active account has verified this number; silent
    otherwise. The per-number limit counts every request, so even a 429 tells nothing."""
    if not rate_limit_hit("verification_sms:password-reset", f"phone:{phone_number}").allowed:
        raise _too_many_codes("phone number")
    # A number may be on several accounts: the one used most recently is reset.
    user = (
        User.objects.filter(phone_number=phone_number, phone_verified=True, is_active=True)
        .order_by(F("last_login").desc(nulls_last=True), "-created_at")
        .first()
    )
    if user is None:
        return
    with transaction.atomic():
        _, code = _code_issue(user=user, purpose=VerificationCode.Purpose.PASSWORD_RESET)
        platform_sms_send(
            to=user.phone_number,
            text=f"Your Mifumo password reset code is {code}. It expires in {_code_minutes()} "
            "minutes. If you did not ask for it, ignore this message.",
        )


def password_reset_code_confirm(*, phone_number: str, code: str, new_password: str) -> User:
    """Set a new password with the texted code and sign out every session of the account."""
    # A wrong code's attempt must be counted, so the error is raised after the block commits.
    with transaction.atomic():
        record = (
            VerificationCode.objects.select_for_update(of=("self",))
            .select_related("user")
            .filter(
                phone_number=phone_number,
                purpose=VerificationCode.Purpose.PASSWORD_RESET,
                consumed_at__isnull=True,
                user__is_active=True,
            )
            .order_by("-created_at")
            .first()
        )
        error = _code_check(record, code)
        if error is None:  # only a live record passes the check
            record = cast(VerificationCode, record)
            user = record.user
            _check_password_strength(new_password, user, "new_password")
            record.consumed_at = timezone.now()
            record.save(update_fields=["consumed_at"])
            user.set_password(new_password)
            user.save(update_fields=["password", "updated_at"])
            _blacklist_all_refresh_tokens(user)
    if error is not None:
        raise error
    return user


def email_verification_link(token: str) -> str:
    """The API route that verifies the email when opened (GET), so the link works anywhere."""
    return _public_url(reverse("auth-verify-email-link", args=[token]))


def email_verification_send(*, user: User) -> None:
    token = signing.dumps({"uid": user.pk, "email": user.email}, salt=EMAIL_VERIFICATION_SALT)
    link = email_verification_link(token)
    email_send.delay_on_commit(  # type: ignore[attr-defined]  # a DjangoTask at run time
        subject="Confirm your email for Mifumo",
        body=(
            f"Welcome to Mifumo!\n\nConfirm your email address: {link}\n"
            f"or send this token to POST /api/auth/verify-email/:\n{token}\n"
        ),
        to=user.email,
    )


def email_verify(*, token: str) -> User:
    invalid = ApplicationError(
        "This email verification link is invalid or has expired.",
        code=ErrorCode.INVALID_EMAIL_TOKEN,
    )
    try:
        payload = signing.loads(
            token, salt=EMAIL_VERIFICATION_SALT, max_age=settings.EMAIL_VERIFICATION_MAX_AGE
        )
    except signing.BadSignature as exc:
        raise invalid from exc
    user = User.objects.filter(pk=payload.get("uid"), email=payload.get("email")).first()
    if user is None:
        raise invalid
    if not user.email_verified:
        user.email_verified = True
        user.save(update_fields=["email_verified", "updated_at"])
    return user


def expired_credentials_prune() -> dict:
    """Delete refresh-token records and verification codes that can no longer be used."""
    now = timezone.now()
    codes, _ = VerificationCode.objects.filter(expires_at__lt=now - timedelta(days=1)).delete()
    tokens, _ = OutstandingToken.objects.filter(expires_at__lt=now).delete()
    return {"verification_codes": codes, "refresh_tokens": tokens}
