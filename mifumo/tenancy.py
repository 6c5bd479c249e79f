"""Picks the Postgres schema for every request before any view runs (DESIGN section 2).

Order: the resolvers in settings.TENANT_RESOLVERS, first answer wins. Out of the box:
  1. the request's Host matches a tenant Domain -> that tenant;
  2. a JWT user -> the tenant named by `X-Tenant-ID`, else the user's active tenant,
     else the first active membership.
The integration API prepends an API-key resolver. Whenever a JWT user is present, they must be
an active member of the chosen tenant; a tenant they asked for and may not use is a 403.
No answer leaves the request on the public schema; `request.tenant` is then django-tenants'
stand-in for it (schema_name "public") and `request.membership` is None.
"""

import uuid
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection
from django.http import JsonResponse
from django.utils.functional import cached_property
from django.utils.module_loading import import_string
from django_tenants.middleware.main import TenantMainMiddleware
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from mifumo.errors import ErrorCode, error_body

TENANT_HEADER = "HTTP_X_TENANT_ID"


class TenantAccessDenied(Exception):
    """The request names a tenant its principal may not use."""


def bearer_token(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _jwt_user(request):
    """The active user behind a valid access token, or None (DRF answers 401 later)."""
    from accounts.models import User

    raw = bearer_token(request)
    if raw is None or raw.count(".") != 2:
        return None
    try:
        token = AccessToken(raw)
    except TokenError:
        return None
    user = User.objects.filter(pk=token.get("user_id"), is_active=True).first()
    if user is not None:
        request.jwt_auth = (raw, user, token)
    return user


def _membership(user, **tenant_lookup):
    from tenants.models import Membership

    return (
        Membership.objects.select_related("tenant")
        .filter(
            user=user,
            status=Membership.Status.ACTIVE,
            tenant__is_active=True,
            **tenant_lookup,
        )
        .order_by("created_at")
        .first()
    )


def _require_membership(request, tenant_lookup: dict):
    membership = _membership(request.jwt_user, **tenant_lookup)
    if membership is None:
        raise TenantAccessDenied
    request.membership = membership
    return membership.tenant


def platform_hosts() -> set[str]:
    """Hosts that serve the API itself (PUBLIC_BASE_URL's and PLATFORM_HOSTS), never a tenant."""
    return {urlparse(settings.PUBLIC_BASE_URL).hostname, *settings.PLATFORM_HOSTS}


def tenant_from_host(request):
    from tenants.models import Domain

    hostname = TenantMainMiddleware.hostname_from_request(request)
    if hostname in platform_hosts():
        return None
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=hostname, tenant__is_active=True)
        .first()
    )
    if domain is None:
        return None
    if request.jwt_user is not None:
        return _require_membership(request, {"tenant": domain.tenant})
    return domain.tenant


def tenant_from_jwt(request):
    user = request.jwt_user
    if user is None:
        return None
    requested = request.META.get(TENANT_HEADER, "").strip()
    if requested:
        try:
            lookup = {"tenant_id": uuid.UUID(requested)}
        except ValueError:
            lookup = {"tenant__subdomain": requested.lower()}
        return _require_membership(request, lookup)
    membership = None
    if user.active_tenant_id is not None:
        membership = _membership(user, tenant_id=user.active_tenant_id)
    membership = membership or _membership(user)
    if membership is None:
        return None
    request.membership = membership
    return membership.tenant


class TenantSelectionMiddleware(TenantMainMiddleware):
    @cached_property
    def resolvers(self):
        return [import_string(path) for path in settings.TENANT_RESOLVERS]

    def process_request(self, request):
        connection.set_schema_to_public()
        request.tenant = connection.tenant
        request.membership = None
        request.jwt_user = _jwt_user(request)
        try:
            tenant = self._resolve(request)
        except TenantAccessDenied:
            return JsonResponse(
                error_body(
                    "You are not an active member of the requested tenant.",
                    ErrorCode.TENANT_ACCESS_DENIED,
                ),
                status=403,
            )
        if tenant is not None:
            request.tenant = tenant
            connection.set_tenant(tenant)
        return None

    def _resolve(self, request):
        for resolver in self.resolvers:
            tenant = resolver(request)
            if tenant is not None:
                return tenant
        return None


class TenantJWTAuthentication(JWTAuthentication):
    """simplejwt authentication that reuses the user the tenant middleware already loaded."""

    def authenticate(self, request):
        cached = getattr(request._request, "jwt_auth", None)
        if cached is not None:
            raw, user, token = cached
            if self.get_raw_token(self.get_header(request) or b"") == raw.encode():
                return user, token
        return super().authenticate(request)
