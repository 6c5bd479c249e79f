"""Reads of users."""

from django.db.models import prefetch_related_objects

from accounts.models import User
from tenants.selectors import active_memberships_prefetch


def profile_get(*, user: User) -> User:
    """`user` with `active_memberships` loaded (one query)."""
    prefetch_related_objects([user], active_memberships_prefetch())
    return user
