"""Permissions for routes that work on the request's tenant (chosen by tenants.middleware)."""

from rest_framework.permissions import BasePermission


class IsTenantMember(BasePermission):
    """A signed-in user working in a tenant they are an active member of."""

    message = "Choose a tenant first: create one, or switch to one you belong to."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.membership)


def require_manager(request, doing: str) -> None:
    """403 PERMISSION_DENIED unless the request's member is an owner or admin of the tenant;
    `doing` completes "Only the tenant's owners and admins can ..."."""
    from rest_framework import status

    from mifumo.errors import ApplicationError, ErrorCode

    if not request.membership.can_manage:
        raise ApplicationError(
            f"Only the tenant's owners and admins can {doing}.",
            code=ErrorCode.PERMISSION_DENIED,
            status_code=status.HTTP_403_FORBIDDEN,
        )
