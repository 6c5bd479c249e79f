"""Reads of tenants and memberships, always scoped to what the user may see."""

import hashlib

from django.db.models import Prefetch
from django.utils import timezone
from rest_framework import status

from mifumo.errors import ApplicationError, ErrorCode
from tenants.models import Domain, Invitation, Membership


def active_memberships(user):
    return Membership.objects.select_related("tenant").filter(
        user=user, status=Membership.Status.ACTIVE, tenant__is_active=True
    )


def active_memberships_prefetch() -> Prefetch:
    """Prefetch a user's active memberships into `user.active_memberships`."""
    queryset = Membership.objects.select_related("tenant").filter(
        status=Membership.Status.ACTIVE, tenant__is_active=True
    )
    return Prefetch("memberships", queryset=queryset, to_attr="active_memberships")


def membership_access(*, user, tenant_id, manage: bool = False) -> Membership:
    """The user's active membership of tenant `tenant_id`.

    Not a member (or no such tenant): 404, never a hint that the tenant exists.
    A member without a managing role when `manage` is asked: 403.
    """
    membership = active_memberships(user).filter(tenant_id=tenant_id).first()
    if membership is None:
        raise ApplicationError(
            "Tenant not found.", code=ErrorCode.NOT_FOUND, status_code=status.HTTP_404_NOT_FOUND
        )
    if manage and not membership.can_manage:
        raise ApplicationError(
            "Only the tenant's owners and admins can do this.",
            code=ErrorCode.PERMISSION_DENIED,
            status_code=status.HTTP_403_FORBIDDEN,
        )
    return membership


def tenant_members(*, tenant):
    return (
        Membership.objects.select_related("user").filter(tenant=tenant).order_by("created_at", "id")
    )


def tenant_domains(*, tenant):
    return Domain.objects.filter(tenant=tenant).order_by("-is_primary", "domain", "id")


def invitation_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_get(*, token: str) -> Invitation:
    """The pending, unexpired invitation for `token`, else ApplicationError 404."""
    invitation = (
        Invitation.objects.select_related("tenant", "invited_by")
        .filter(
            token_hash=invitation_token_hash(token),
            status=Invitation.Status.PENDING,
            expires_at__gt=timezone.now(),
            tenant__is_active=True,
        )
        .first()
    )
    if invitation is None:
        raise ApplicationError(
            "This invitation is invalid, already used or expired.",
            code=ErrorCode.INVALID_INVITATION,
            status_code=status.HTTP_404_NOT_FOUND,
        )
    return invitation
