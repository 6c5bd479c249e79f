"""How an API key authenticates a request to /api/integration/v1/.

The tenant middleware asks `tenant_from_api_key` first (settings.TENANT_RESOLVERS): a Bearer
token that starts with `mif_` is looked up by its hash, and a usable key picks its tenant's
schema before any view runs. DRF then authenticates the request as the key
(`ApiKeyAuthentication`) and `HasScope` checks the view's permission for the method.
"""

from django.contrib.auth.models import AnonymousUser
from rest_framework import status
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from integration.models import API_KEY_PREFIX
from integration.selectors import api_key_usable
from integration.services.keys import api_key_used
from mifumo.errors import ApplicationError, ErrorCode
from tenants.middleware import bearer_token


def tenant_from_api_key(request):
    raw = bearer_token(request)
    request.api_key = None
    if raw is None or not raw.startswith(API_KEY_PREFIX):
        return None
    request.api_key = api_key_usable(raw)
    return request.api_key.tenant if request.api_key else None


class ApiKeyAuthentication(BaseAuthentication):
    """The key the middleware found; any other Bearer value is an invalid key."""

    def authenticate(self, request):
        raw = bearer_token(request._request)
        if raw is None:
            return None  # DRF answers 401 AUTHENTICATION_REQUIRED
        api_key = getattr(request._request, "api_key", None)
        if api_key is None:
            raise ApplicationError(
                "The API key is invalid, revoked or expired.",
                code=ErrorCode.INVALID_API_KEY,
                status_code=status.HTTP_401_UNAUTHORIZED,
            )
        api_key_used(api_key_id=api_key.pk)
        return api_key.created_by or AnonymousUser(), api_key

    def authenticate_header(self, request):
        return 'Bearer realm="api"'


class HasScope(BasePermission):
    """The key may do what the view needs for this method (`view.scopes[method]`); a key with
    no permissions listed may do everything."""

    def has_permission(self, request, view):
        api_key = request.auth
        if api_key is None:
            return False
        needed = view.scopes.get(request.method)
        if api_key.permissions and needed not in api_key.permissions:
            self.message = f"This API key lacks the '{needed}' permission."
            return False
        return True
