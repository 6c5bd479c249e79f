"""Shared builders of the integration tests."""

from integration.services.keys import api_key_create
from tests.conftest import client_for

V1 = "/api/integration/v1/"


def key_for(world, *, permissions=(), **kwargs):
    """An issued key (with `.key` and `.api_key`) of a tenant made by its owner."""
    return api_key_create(
        tenant=world.tenant,
        name="Test key",
        permissions=list(permissions),
        created_by=world.owner,
        **kwargs,
    )


def key_client(raw_key: str):
    return client_for(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
