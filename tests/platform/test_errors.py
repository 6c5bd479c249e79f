"""Every error leaves as the JSON envelope: unknown URLs, wrong methods, bad bodies, bad tokens,
unexpected exceptions (DESIGN section 3). Only the admin keeps its HTML pages."""

import logging
from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from rest_framework import exceptions, serializers
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

from accounts.models import User
from mifumo.errors import ApplicationError, ErrorCode, exception_handler
from tests.envelope import assert_error
from tests.platform.boom_urls import SECRET_DETAIL

PROFILE = "/api/auth/profile/"
LOGIN = "/api/auth/login/"
TENANTS = "/api/tenants/"
BOOM_URLS = "tests.platform.boom_urls"


@pytest.fixture
def boom_client(client, db, settings):
    """The Django test client on the test URLconf, returning 500s instead of raising them."""
    settings.ROOT_URLCONF = BOOM_URLS
    client.raise_request_exception = False
    return client


def assert_no_html(response):
    assert b"<html" not in response.content.lower()
    assert b"<!doctype" not in response.content.lower()


# --- Outside DRF views: unknown URLs, bad hosts


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("method", ["get", "post", "delete"])
def test_an_unknown_api_url_is_a_json_404(client, db, settings, debug, method):
    settings.DEBUG = debug

    response = getattr(client, method)("/api/nope/")

    body = assert_error(response, 404, "NOT_FOUND")
    assert body["details"] is None
    assert set(body) == {"success", "message", "data", "error_code", "details"}
    assert_no_html(response)


def test_an_unknown_url_outside_the_api_is_a_json_404_too(client, db):
    response = client.get("/nope/")

    assert_error(response, 404, "NOT_FOUND")


def test_an_id_that_is_not_a_uuid_does_not_match_a_route(api, a):
    response = api(a.owner).get(f"{TENANTS}not-a-uuid/")

    assert_error(response, 404, "NOT_FOUND")


@pytest.mark.parametrize("debug", [False, True])
def test_a_disallowed_host_is_a_json_400(client, db, settings, debug):
    settings.DEBUG = debug

    response = client.get("/api/health/", HTTP_HOST="evil.example.com")

    assert_error(response, 400, "MALFORMED_REQUEST")
    assert b"evil.example.com" not in response.content
    assert_no_html(response)


def test_admin_paths_keep_their_html_404(admin_client):
    response = admin_client.get("/admin/does-not-exist/")

    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")


# --- Method and body errors


def test_a_wrong_method_is_a_json_405_with_allow(client, db):
    response = client.delete("/api/health/")

    body = assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert "DELETE" in body["message"]
    assert "GET" in response["Allow"]


def test_a_plain_django_405_keeps_its_allow_header(boom_client):
    """JsonErrorMiddleware rewrites the body; RFC 9110 still requires the Allow header."""
    response = boom_client.post("/api/test/get-only/")

    assert_error(response, 405, "METHOD_NOT_ALLOWED")
    assert response.get("Allow") == "GET"


def test_malformed_json_is_a_400_malformed_request(client, db):
    response = client.post(
        LOGIN, data='{"email": "x@example.com",', content_type="application/json"
    )

    assert_error(response, 400, "MALFORMED_REQUEST")


def test_an_unsupported_media_type_is_a_415(client, db):
    response = client.post(LOGIN, data="<login/>", content_type="application/xml")

    assert_error(response, 415, "UNSUPPORTED_MEDIA_TYPE")


# --- Unexpected exceptions


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("url", ["/api/test/drf-boom/", "/api/test/django-boom/"])
def test_an_unexpected_exception_is_a_json_500_without_traceback(boom_client, settings, url, debug):
    settings.DEBUG = debug

    response = boom_client.get(url)

    body = assert_error(response, 500, "INTERNAL_ERROR")
    assert body["message"] == "Internal server error."
    assert body["details"] is None
    assert SECRET_DETAIL.encode() not in response.content
    assert b"Traceback" not in response.content
    assert b"RuntimeError" not in response.content
    assert_no_html(response)


def test_an_unexpected_exception_in_a_drf_view_is_logged(boom_client, caplog):
    with caplog.at_level(logging.ERROR, logger="mifumo.errors"):
        boom_client.get("/api/test/drf-boom/")

    (record,) = [r for r in caplog.records if r.name == "mifumo.errors"]
    assert record.exc_info[0] is RuntimeError


# --- Authentication


def test_no_token_is_401_authentication_required(api, db):
    response = api().get(PROFILE)

    assert_error(response, 401, "AUTHENTICATION_REQUIRED")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_a_non_bearer_scheme_counts_as_no_token(api, a):
    response = api(HTTP_AUTHORIZATION="Basic b3duZXI6cGFzcw==").get(PROFILE)

    assert_error(response, 401, "AUTHENTICATION_REQUIRED")


@pytest.mark.parametrize("token", ["garbage", "a.b.c", "eyJhbGciOiJIUzI1NiJ9.e30.bad-signature"])
def test_a_garbage_token_is_401_invalid_token(api, db, token):
    response = api(HTTP_AUTHORIZATION=f"Bearer {token}").get(PROFILE)

    assert_error(response, 401, "INVALID_TOKEN")
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_an_expired_token_is_401_invalid_token(api, a):
    token = AccessToken.for_user(a.owner)
    token.set_exp(lifetime=-timedelta(minutes=1))

    response = api(HTTP_AUTHORIZATION=f"Bearer {token}").get(PROFILE)

    assert_error(response, 401, "INVALID_TOKEN")


def test_a_refresh_token_is_not_an_access_token(api, a):
    refresh = RefreshToken.for_user(a.owner)

    response = api(HTTP_AUTHORIZATION=f"Bearer {refresh}").get(PROFILE)

    assert_error(response, 401, "INVALID_TOKEN")


def test_a_token_of_a_deactivated_user_is_401_invalid_token(api, a):
    client = api(a.agent)
    User.objects.filter(pk=a.agent.pk).update(is_active=False)

    response = client.get(PROFILE)

    assert_error(response, 401, "INVALID_TOKEN")


def test_a_valid_token_reaches_the_view(api, a):
    response = api(a.owner).get(PROFILE)

    assert response.status_code == 200
    assert response.json()["data"]["email"] == a.owner.email


# --- Validation failures


def test_serializer_errors_list_each_field_and_headline_the_first(client, db):
    response = client.post(LOGIN, {"email": "not-an-email"}, content_type="application/json")

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert body["errors"] == {
        "email": ["Enter a valid email address."],
        "password": ["This field is required."],
    }
    assert body["message"] == "Enter a valid email address."


def test_service_validation_errors_have_the_same_shape(api, a, b):
    response = api(a.owner).post(TENANTS, {"name": "Copycat", "subdomain": b.tenant.subdomain})

    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert list(body["errors"]) == ["subdomain"]
    assert all(isinstance(m, str) for m in body["errors"]["subdomain"])
    assert body["message"] == body["errors"]["subdomain"][0]


def test_success_bodies_carry_no_errors_key(api, a):
    body = api(a.owner).get(PROFILE).json()

    assert "errors" not in body
    assert body["error_code"] is None


# --- The exception handler itself


def handled(exc):
    return exception_handler(exc, {"view": None})


def test_application_errors_keep_their_status_code_and_details():
    response = handled(
        ApplicationError(
            "Balance too low.",
            code=ErrorCode.INSUFFICIENT_BALANCE,
            status_code=402,
            details={"needed": 3},
        )
    )

    assert response.status_code == 402
    assert response.data == {
        "success": False,
        "message": "Balance too low.",
        "data": None,
        "error_code": "INSUFFICIENT_BALANCE",
        "details": {"needed": 3},
    }


@pytest.mark.parametrize(
    ("exc", "status", "code"),
    [
        (Http404(), 404, "NOT_FOUND"),
        (DjangoPermissionDenied(), 403, "PERMISSION_DENIED"),
        (exceptions.PermissionDenied(), 403, "PERMISSION_DENIED"),
        (exceptions.Throttled(wait=7), 429, "RATE_LIMIT_EXCEEDED"),
        (exceptions.NotAcceptable(), 406, "INTERNAL_ERROR"),
        (ValueError("internal detail"), 500, "INTERNAL_ERROR"),
    ],
)
def test_exceptions_map_to_stable_codes(exc, status, code):
    response = handled(exc)

    assert response.status_code == status
    assert response.data["error_code"] == code
    assert response.data["data"] is None
    assert "internal detail" not in response.data["message"]


def test_a_throttled_exception_sets_retry_after():
    assert handled(exceptions.Throttled(wait=7))["Retry-After"] == "7"


def test_django_validation_errors_become_field_errors():
    response = handled(DjangoValidationError({"name": ["Too short."], "code": ["Taken."]}))

    assert response.status_code == 400
    assert response.data["error_code"] == "VALIDATION_ERROR"
    assert response.data["errors"] == {"name": ["Too short."], "code": ["Taken."]}
    assert response.data["message"] == "Too short."


def test_errors_without_a_field_are_non_field_errors():
    response = handled(DjangoValidationError("Dates overlap."))

    assert response.data["errors"] == {"non_field_errors": ["Dates overlap."]}
    assert response.data["message"] == "Dates overlap."


class _ContactSerializer(serializers.Serializer):
    phone = serializers.CharField(max_length=5)


class _ImportSerializer(serializers.Serializer):
    contacts = _ContactSerializer(many=True)


def test_nested_list_errors_headline_the_innermost_first_message():
    data = _ImportSerializer(data={"contacts": [{"phone": "123"}, {"phone": "1234567"}]})
    assert not data.is_valid()

    response = handled(exceptions.ValidationError(data.errors))

    assert response.data["errors"]["contacts"][1]["phone"]
    assert response.data["message"] == "Ensure this field has no more than 5 characters."


def test_a_path_missing_its_trailing_slash_is_a_json_404_naming_the_right_one(client, db):
    response = client.post(
        "/api/auth/login", data={"email": "x@example.com"}, content_type="application/json"
    )

    body = assert_error(response, 404, "NOT_FOUND")
    assert "/api/auth/login/" in body["message"]
