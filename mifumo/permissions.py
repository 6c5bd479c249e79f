"""Permissions for routes that work on the request's tenant (chosen by mifumo.tenancy)."""

from rest_framework.permissions import BasePermission


class IsTenantMember(BasePermission):
    """A signed-in user working in a tenant they are an active member of."""

    message = "Choose a tenant first: create one, or switch to one you belong to."

    def has_permission(self, request, view):
        return bool(request.user and request.user.is_authenticated and request.membership)
