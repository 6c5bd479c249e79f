"""The drf-yasg schema documents every /api/ route with its bodies (DESIGN section 3)."""

import re
from datetime import timedelta

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone
from rest_framework_simplejwt.tokens import AccessToken

from tests.integration.helpers import key_for

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# Routes answering the seed's shapes instead of the envelope (DESIGN section 3).
SEED_SHAPED = {
    "/api/auth/register/",
    "/api/auth/sms/verify-code/",
    "/api/auth/sms/confirm-account/",
    "/api/auth/activate-account/{code}/",
    "/api/auth/login/",
    "/api/auth/token/refresh/",
    "/api/auth/logout/",
}
# Routes whose success is a file (application/pdf), not the envelope; their errors are.
FILE_RESPONSES = {"/api/billing/invoices/{invoice_id}/pdf/"}
# POSTs that act on the URL alone.
BODYLESS = {
    ("/api/tenants/invite/{token}/", "post"),
    ("/api/messaging/contacts/{contact_id}/opt-in/", "post"),
    ("/api/messaging/segments/{segment_id}/update-count/", "post"),
    ("/api/auth/keys/{key_id}/revoke/", "post"),
    ("/api/auth/keys/{key_id}/regenerate/", "post"),
    ("/api/messaging/campaigns/{campaign_id}/start/", "post"),
    ("/api/messaging/campaigns/{campaign_id}/pause/", "post"),
    ("/api/messaging/campaigns/{campaign_id}/resume/", "post"),
    ("/api/messaging/campaigns/{campaign_id}/cancel/", "post"),
    ("/api/billing/payment-methods/{payment_method_id}/default/", "post"),
    ("/api/billing/subscription/cancel/", "post"),
    ("/api/messaging/channels/{channel_id}/test/", "post"),
    ("/api/messaging/conversations/{conversation_id}/read/", "post"),
}
PAGINATED = {
    "/api/messaging/contacts/",
    "/api/messaging/segments/",
    "/api/messaging/segments/{segment_id}/contacts/",
    "/api/messaging/templates/",
    "/api/messaging/messages/",
    "/api/messaging/campaigns/",
    "/api/messaging/sms/sender-ids/",
    "/api/messaging/channels/",
    "/api/messaging/conversations/",
    "/api/messaging/sms/providers/",
    "/api/auth/webhooks/{endpoint_id}/deliveries/",
    "/api/tenants/",
    "/api/tenants/{tenant_id}/domains/",
    "/api/tenants/{tenant_id}/members/",
}


def _patterns(patterns, prefix=""):
    """(URLPattern, its full route) for every route Django serves."""
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from _patterns(pattern.url_patterns, route)
        elif isinstance(pattern, URLPattern):
            yield pattern, route


def openapi_path(route: str) -> str:
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


# Server-rendered pages people read in a browser (the developer pages), not API routes.
HTML_PAGES = ("/api/integration/dashboard/", "/api/integration/documentation/")


def api_routes() -> set[str]:
    """Every /api/ route Django serves, spelled as an OpenAPI path."""
    routes = {openapi_path(route) for _, route in _patterns(get_resolver().url_patterns)}
    return {r for r in routes if r.startswith("/api/") and not r.startswith(HTML_PAGES)}


@pytest.fixture(scope="module")
def schema(django_db_setup, django_db_blocker):
    from django.test import Client

    with django_db_blocker.unblock():
        response = Client().get("/swagger.json")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    return response.json()


def paths(schema) -> dict:
    base = schema.get("basePath", "").rstrip("/")
    return {base + path: item for path, item in schema["paths"].items()}


def operations(schema):
    for path, item in paths(schema).items():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield path, method, operation


def resolve(schema, node: dict) -> dict:
    while "$ref" in node:
        node = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
    return node


def test_the_route_walk_finds_the_api():
    routes = api_routes()

    assert {"/api/health/", "/api/auth/login/", "/api/tenants/{tenant_id}/members/"} <= routes


def test_every_api_route_is_documented(schema):
    assert api_routes() - set(paths(schema)) == set()


def test_every_operation_has_a_summary_and_a_response_schema(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (path, method)
        responses = operation["responses"]
        assert any(r.get("schema") for r in responses.values()), (path, method)
        for status, response in responses.items():
            assert response.get("schema"), (path, method, status)


def test_every_write_documents_its_body(schema):
    for path, method, operation in operations(schema):
        if method not in {"post", "put", "patch"} or (path, method) in BODYLESS:
            continue
        bodies = [p for p in operation.get("parameters", []) if p["in"] == "body"]
        assert len(bodies) == 1, (path, method)
        assert bodies[0].get("schema"), (path, method)


def test_enveloped_routes_document_the_envelope(schema):
    envelope = {"success", "message", "data", "error_code", "details"}
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            body = resolve(schema, response["schema"])
            if status.startswith("2") and path in SEED_SHAPED | FILE_RESPONSES:
                continue
            assert envelope <= set(body.get("properties", {})), (path, method, status)


def test_errors_document_their_error_code(schema):
    for path, method, operation in operations(schema):
        for status, response in operation["responses"].items():
            if int(status) >= 400 and path != "/api/health/":
                properties = resolve(schema, response["schema"])["properties"]
                assert "error_code" in properties, (path, method, status)


INTEGRATION = "/api/integration/v1/"


def integration_operations() -> set[tuple[str, str]]:
    """(path, method) of every route of the integration API, as its views answer them."""
    served = set()
    for pattern, route in _patterns(get_resolver().url_patterns):
        path = openapi_path(route)
        if path.startswith(INTEGRATION):
            view = pattern.callback.view_class
            served |= {(path, method) for method in HTTP_METHODS if hasattr(view, method)}
    return served


def test_each_integration_route_is_documented_once_under_the_integration_tag(schema):
    documented = [
        (path, method, operation)
        for path, method, operation in operations(schema)
        if path.startswith(INTEGRATION)
    ]

    assert sorted((path, method) for path, method, _ in documented) == sorted(
        integration_operations()
    )
    for path, method, operation in documented:
        assert operation["tags"] == ["integration"], (path, method)
        # An API key may be refused, lack the route's scope, or spend its rate.
        assert {"401", "403", "429"} <= set(operation["responses"]), (path, method)


def test_paginated_lists_document_page_and_page_size(schema):
    for path in PAGINATED:
        operation = paths(schema)[path]["get"]
        query = {p["name"] for p in operation.get("parameters", []) if p["in"] == "query"}
        assert {"page", "page_size"} <= query, path


def test_bearer_is_the_security_scheme_and_public_routes_opt_out(schema):
    assert schema["securityDefinitions"]["Bearer"]["in"] == "header"
    assert schema["securityDefinitions"]["Bearer"]["name"] == "Authorization"
    assert schema["security"] == [{"Bearer": []}]
    documented = paths(schema)
    assert documented["/api/auth/login/"]["post"]["security"] == []
    assert documented["/api/health/"]["get"]["security"] == []
    assert "security" not in documented["/api/auth/profile/"]["get"]


def test_the_yaml_schema_is_served(client, db):
    response = client.get("/swagger.yaml")

    assert response.status_code == 200
    assert b"/auth/login/" in response.content


@pytest.mark.parametrize("url", ["/swagger/", "/redoc/"])
def test_the_documentation_pages_render(client, db, url):
    response = client.get(url)

    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert b"<title>Mifumo API</title>" in response.content


def _expired_token(user) -> AccessToken:
    token = AccessToken.for_user(user)
    token.set_exp(from_time=timezone.now() - timedelta(hours=2))
    return token


CREDENTIALS = {
    "nothing": lambda world: None,
    "a JWT": lambda world: f"Bearer {AccessToken.for_user(world.owner)}",
    "an expired JWT": lambda world: f"Bearer {_expired_token(world.owner)}",
    "a malformed JWT": lambda world: "Bearer not.a.token",
    "an API key": lambda world: f"Bearer {key_for(world).key}",
    "an unknown API key": lambda world: "Bearer mif_" + "x" * 43,
}


@pytest.mark.parametrize("url", ["/swagger.json", "/swagger/", "/redoc/"])
@pytest.mark.parametrize("credential", CREDENTIALS)
def test_the_schema_and_its_pages_answer_whatever_the_credential(a, api, url, credential):
    authorization = CREDENTIALS[credential](a)
    client = api(HTTP_AUTHORIZATION=authorization) if authorization else api()

    response = client.get(url)

    assert response.status_code == 200, response.content[:300]
