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

import functools
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlparse

from django.conf import settings
from django.db import connection
from django.db.models import Field, Model
from django.http import JsonResponse
from django.utils.functional import cached_property
from django.utils.module_loading import import_string
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from mifumo.errors import ErrorCode, error_body
from mifumo.tenancy import current_tenant
from tenants.models import Domain, Membership, Tenant

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
    """The active user behind a valid access token, or None (DRF answers 401 later).

    One query in the common case: the user comes joined to the membership they would work in
    (their active tenant's, else their first), kept for tenant_from_jwt.
    """
    raw = bearer_token(request)
    if raw is None or raw.count(".") != 2:
        return None
    try:
        token = AccessToken(raw)
    except TokenError:
        return None
    user_id = token.get("user_id")
    membership = _preferred_membership(user_id)
    if membership is not None:
        user = membership.user
        request.preferred_membership = membership
    else:
        user = User.objects.filter(pk=user_id, is_active=True).first()
    if user is not None:
        request.jwt_auth = (raw, user, token)
    return user


@dataclass(frozen=True, slots=True)
class _Column:
    """A model field as the lookup reads it: its attribute name and what the ORM would make
    of its value (JSON decoded, and so on)."""

    attname: str
    expression: Any
    converters: tuple[Any, ...]

    def from_db(self, value):
        for converter in self.converters:
            value = converter(value, self.expression, connection)
        return value


def _column(field: Field[Any, Any]) -> _Column:
    expression = field.get_col(field.model._meta.db_table)
    converters = (
        *connection.ops.get_db_converters(expression),
        *field.get_db_converters(connection),
    )
    return _Column(field.attname, expression, converters)


@functools.cache
def _preferred_membership_sql() -> tuple[str, list[tuple[type[Model], list[_Column]]]]:
    """Every request of a signed-in user runs this lookup, so it is SQL written once rather
    than a queryset compiled each time (most of its cost was the compiling); so are the
    converters of its columns (finding them cost more than running them)."""
    models: list[tuple[type[Model], str]] = [(Membership, "m"), (User, "u"), (Tenant, "t")]
    layout = [
        (model, [_column(field) for field in model._meta.concrete_fields]) for model, _ in models
    ]
    columns = ", ".join(
        f'{alias}."{field.column}"'
        for model, alias in models
        for field in model._meta.concrete_fields
    )
    sql = f"""
        SELECT {columns}
        FROM {Membership._meta.db_table} m
        JOIN {User._meta.db_table} u ON u.id = m.user_id
        JOIN {Tenant._meta.db_table} t ON t.id = m.tenant_id
        WHERE m.user_id = %s AND u.is_active AND m.status = %s AND t.is_active
        ORDER BY m.tenant_id IS NOT DISTINCT FROM u.active_tenant_id DESC, m.created_at
        LIMIT 1
    """  # noqa: S608 - table and column names come from the models
    return sql, layout


def _preferred_membership(user_id):
    """The user's active membership in their active tenant, else their first; user and tenant
    attached. None when they have none (or are inactive)."""
    sql, layout = _preferred_membership_sql()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id, Membership.Status.ACTIVE])
        row = cursor.fetchone()
    if row is None:
        return None
    instances, start = [], 0
    for model, columns in layout:
        values = [c.from_db(value) for c, value in zip(columns, row[start:], strict=False)]
        names = [column.attname for column in columns]
        instances.append(model.from_db(connection.alias, names, values))
        start += len(columns)
    membership, user, tenant = instances
    membership.user, membership.tenant = user, tenant
    return membership


def _membership(user, **tenant_lookup):
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
    membership = request.preferred_membership
    if membership is None:
        return None
    request.membership = membership
    return membership.tenant


class TenantSelectionMiddleware(TenantMainMiddleware):
    @cached_property
    def resolvers(self):
        return [import_string(path) for path in settings.TENANT_RESOLVERS]

    def process_request(self, request):
        # Only when another schema is set: setting public again would cost a `SET search_path`
        # on the request's first query, a round trip the public routes (callbacks) never need.
        if connection.schema_name != get_public_schema_name():
            connection.set_schema_to_public()
        request.tenant = current_tenant()
        request.membership = None
        request.preferred_membership = None
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
