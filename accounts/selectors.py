"""Reads of users."""

from accounts.models import User
from tenants.selectors import active_memberships_prefetch


def profile_get(*, user: User) -> User:
    """The user with `active_memberships` loaded (one query for the memberships)."""
    return User.objects.prefetch_related(active_memberships_prefetch()).get(pk=user.pk)
