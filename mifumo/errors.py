"""Error codes, the one application error type, and the DRF exception handler.

Every error body in Mifumo is built here, so clients can rely on one shape:
{"success": false, "message", "data": null, "error_code", "details"} plus "errors" for
field validation failures.
"""

import logging
from enum import StrEnum

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, status
from rest_framework.response import Response

logger = logging.getLogger(__name__)


class ErrorCode(StrEnum):
    """Stable error codes. Extend, never rename: clients switch on these strings."""

    AUTHENTICATION_REQUIRED = "AUTHENTICATION_REQUIRED"
    INVALID_TOKEN = "INVALID_TOKEN"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    INVALID_API_KEY = "INVALID_API_KEY"
    INVALID_SIGNATURE = "INVALID_SIGNATURE"
    ACCOUNT_NOT_ACTIVATED = "ACCOUNT_NOT_ACTIVATED"
    ACCOUNT_ALREADY_ACTIVE = "ACCOUNT_ALREADY_ACTIVE"
    INVALID_VERIFICATION_CODE = "INVALID_VERIFICATION_CODE"
    VERIFICATION_CODE_EXPIRED = "VERIFICATION_CODE_EXPIRED"
    TOO_MANY_ATTEMPTS = "TOO_MANY_ATTEMPTS"
    INVALID_RESET_TOKEN = "INVALID_RESET_TOKEN"
    INVALID_EMAIL_TOKEN = "INVALID_EMAIL_TOKEN"
    INVALID_INVITATION = "INVALID_INVITATION"
    INVALID_IMPORT_FILE = "INVALID_IMPORT_FILE"
    INVALID_SEGMENT_FILTER = "INVALID_SEGMENT_FILTER"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    MALFORMED_REQUEST = "MALFORMED_REQUEST"
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE"
    URI_TOO_LONG = "URI_TOO_LONG"
    HEADERS_TOO_LARGE = "HEADERS_TOO_LARGE"
    NESTING_TOO_DEEP = "NESTING_TOO_DEEP"
    INVALID_CHARACTERS = "INVALID_CHARACTERS"
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE"
    MISSING_MESSAGE = "MISSING_MESSAGE"
    INVALID_PHONE_FORMAT = "INVALID_PHONE_FORMAT"
    CONTACT_OPTED_OUT = "CONTACT_OPTED_OUT"
    INSUFFICIENT_BALANCE = "INSUFFICIENT_BALANCE"
    RATE_LIMIT_EXCEEDED = "RATE_LIMIT_EXCEEDED"
    SMS_SEND_FAILED = "SMS_SEND_FAILED"
    SENDER_ID_INVALID = "SENDER_ID_INVALID"
    SMS_PROVIDER_UNAVAILABLE = "SMS_PROVIDER_UNAVAILABLE"
    CHANNEL_CREDENTIALS_INVALID = "CHANNEL_CREDENTIALS_INVALID"
    PAYMENT_PROVIDER_ERROR = "PAYMENT_PROVIDER_ERROR"
    INVALID_COUPON = "INVALID_COUPON"
    PLAN_LIMIT_REACHED = "PLAN_LIMIT_REACHED"
    INVALID_STATUS = "INVALID_STATUS"
    NOT_FOUND = "NOT_FOUND"
    METHOD_NOT_ALLOWED = "METHOD_NOT_ALLOWED"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    TENANT_ACCESS_DENIED = "TENANT_ACCESS_DENIED"
    CONFLICT = "CONFLICT"
    IDEMPOTENCY_KEY_REUSED = "IDEMPOTENCY_KEY_REUSED"
    IDEMPOTENCY_KEY_IN_USE = "IDEMPOTENCY_KEY_IN_USE"
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
    INTERNAL_ERROR = "INTERNAL_ERROR"


class ApplicationError(Exception):
    """A failure a client can act on. Services raise it; the exception handler renders it."""

    def __init__(
        self,
        message: str,
        *,
        code: ErrorCode,
        status_code: int = status.HTTP_400_BAD_REQUEST,
        details=None,
        errors: dict | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.code = code
        self.status_code = status_code
        self.details = details
        self.errors = errors


def field_error(
    field: str, message: str, *, code: ErrorCode = ErrorCode.VALIDATION_ERROR
) -> ApplicationError:
    """A 400 about one input field: `message`, also listed under errors[field]."""
    return ApplicationError(message, code=code, errors={field: [message]})


def error_body(message: str, code: str, *, details=None, errors=None) -> dict:
    body = {
        "success": False,
        "message": message,
        "data": None,
        "error_code": str(code),
        "details": details,
    }
    if errors is not None:
        body["errors"] = errors
    return body


def _first_message(errors) -> str:
    """The first human message in a DRF error structure, to headline the envelope."""
    while isinstance(errors, dict | list) and errors:
        errors = next(iter(errors.values())) if isinstance(errors, dict) else errors[0]
    return str(errors) if errors else "Validation failed."


def _as_field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return detail
    return {"non_field_errors": detail if isinstance(detail, list) else [detail]}


_DRF_CODES = [
    (exceptions.NotAuthenticated, ErrorCode.AUTHENTICATION_REQUIRED),
    (exceptions.AuthenticationFailed, ErrorCode.INVALID_TOKEN),
    (exceptions.PermissionDenied, ErrorCode.PERMISSION_DENIED),
    (exceptions.NotFound, ErrorCode.NOT_FOUND),
    (exceptions.MethodNotAllowed, ErrorCode.METHOD_NOT_ALLOWED),
    (exceptions.Throttled, ErrorCode.RATE_LIMIT_EXCEEDED),
    (exceptions.ParseError, ErrorCode.MALFORMED_REQUEST),
    (exceptions.UnsupportedMediaType, ErrorCode.UNSUPPORTED_MEDIA_TYPE),
]


def exception_handler(exc, context):
    """DRF exception handler: every error, expected or not, leaves as the envelope."""
    if isinstance(exc, ApplicationError):
        body = error_body(exc.message, exc.code, details=exc.details, errors=exc.errors)
        return Response(body, status=exc.status_code)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(
            exc.message_dict if hasattr(exc, "error_dict") else exc.messages
        )

    if isinstance(exc, exceptions.ValidationError):
        errors = _as_field_errors(exc.detail)
        body = error_body(_first_message(errors), ErrorCode.VALIDATION_ERROR, errors=errors)
        return Response(body, status=status.HTTP_400_BAD_REQUEST)

    if isinstance(exc, exceptions.APIException):
        code = next((c for cls, c in _DRF_CODES if isinstance(exc, cls)), ErrorCode.INTERNAL_ERROR)
        headers = {}
        if getattr(exc, "auth_header", None):
            headers["WWW-Authenticate"] = exc.auth_header
        if getattr(exc, "wait", None) is not None:
            headers["Retry-After"] = str(int(exc.wait))
        message = exc.detail if isinstance(exc.detail, str) else _first_message(exc.detail)
        return Response(error_body(str(message), code), status=exc.status_code, headers=headers)

    logger.exception("Unhandled error in %s", context.get("view"))
    return Response(
        error_body("Internal server error.", ErrorCode.INTERNAL_ERROR),
        status=status.HTTP_500_INTERNAL_SERVER_ERROR,
    )
