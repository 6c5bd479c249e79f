"""Reads of the sms app: a tenant's sender IDs, the sender a send may use, the provider
account's own balance, a tenant's channels, and the channel an inbound address belongs to."""

import uuid
from collections.abc import Collection
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Lower
from rest_framework import status as http_status

from mifumo.errors import ApplicationError, ErrorCode
from mifumo.selectors import get_or_404
from sms.channels import InvalidAddress, channel_address_normalise
from sms.models import Channel, ChannelAddress, SenderId
from sms.providers.base import SmsProvider
from sms.providers.beem import BeemError
from sms.providers.twilio import TwilioError

# The namespace of the platform sender's id: the same name always has the same id.
PLATFORM_SENDER_NAMESPACE = uuid.UUID("6f1c3f0e-5b7a-4f7e-9a43-2d1e8c0b9a51")


def sender_ids_of(*, tenant_id: uuid.UUID, status: str | None = None) -> QuerySet[SenderId]:
    """The tenant's sender IDs, newest first, optionally only those with `status`."""
    sender_ids = SenderId.objects.filter(tenant_id=tenant_id).order_by("-created_at", "id")
    if status:
        sender_ids = sender_ids.filter(status=status)
    return sender_ids


def platform_sender_id() -> SenderId:
    """The shared platform sender (settings.PLATFORM_SMS_SENDER) as an unsaved, approved
    SenderId with a stable id (uuid5 of its name): every tenant may send from it. Having no
    row, it has no created_at or updated_at (both None)."""
    name = settings.PLATFORM_SMS_SENDER
    return SenderId(
        id=uuid.uuid5(PLATFORM_SENDER_NAMESPACE, name),
        name=name,
        purpose="Shared platform sender ID",
        status=SenderId.Status.APPROVED,
    )


def sender_id_is_platform(sender_id: SenderId) -> bool:
    return sender_id.pk == platform_sender_id().pk


def sender_id_get(*, tenant_id: uuid.UUID, sender_id_pk: uuid.UUID | str) -> SenderId:
    """The tenant's sender ID with this id, or the platform sender for its stable id; any
    other id (absent, malformed, another tenant's) is the uniform 404."""
    platform = platform_sender_id()
    if str(sender_id_pk) == str(platform.pk):
        return platform
    return get_or_404(SenderId.objects.filter(tenant_id=tenant_id), sender_id_pk, "Sender ID")


def provider_balance_get(*, provider: SmsProvider) -> dict[str, Any]:
    """The provider account's own balance as {provider, available, credits, currency,
    unlimited, detail}; a provider that is unconfigured, unreachable or refuses is
    `available: false` with the reason, never an exception. No credential is ever included."""
    answer = {"provider": provider.name, "credits": None, "currency": None, "unlimited": False}
    if not getattr(provider, "configured", True):
        return {**answer, "available": False, "detail": "The provider's credentials are not set."}
    try:
        balance = provider.balance()
    except (BeemError, TwilioError) as exc:
        return {**answer, "available": False, "detail": str(exc)}
    return {
        **answer,
        "available": True,
        "credits": balance.get("credits"),
        "currency": balance.get("currency"),
        "unlimited": bool(balance.get("unlimited")),
        "detail": "",
    }


def sender_id_check(*, tenant_id: uuid.UUID, name: str | None) -> str:
    """The sender name to send from: the platform sender when `name` is empty (no query), else
    the stored spelling of the tenant's approved sender ID matching `name` in any case (one
    query on the (tenant, lower(name)) unique index).

    Raises 400 SENDER_ID_INVALID when the tenant has no approved sender ID of that name.
    """
    name = (name or "").strip()
    platform: str = settings.PLATFORM_SMS_SENDER
    if not name or name.lower() == platform.lower():
        return platform
    if len(name) <= SenderId.MAX_LENGTH:
        stored = list(
            SenderId.objects.alias(name_lower=Lower("name"))
            .filter(tenant_id=tenant_id, name_lower=name.lower(), status=SenderId.Status.APPROVED)
            .order_by()
            .values_list("name", flat=True)[:1]
        )
        if stored:
            return stored[0]
    raise ApplicationError(
        f"'{name}' is not an approved sender ID of this account. Send from "
        f"'{platform}' or request the sender ID and wait for its approval.",
        code=ErrorCode.SENDER_ID_INVALID,
        status_code=http_status.HTTP_400_BAD_REQUEST,
        details={"sender_id": name, "default_sender_id": platform},
    )


def channels_of(
    *, tenant_id: uuid.UUID, providers: Collection[str] | None = None
) -> QuerySet[Channel]:
    """The tenant's channels that are not deleted (of `providers` only, when given), by
    provider with the default first, their addresses prefetched in one more query."""
    channels = Channel.objects.filter(tenant_id=tenant_id, deleted_at__isnull=True)
    if providers is not None:
        channels = channels.filter(provider__in=providers)
    return channels.prefetch_related(
        Prefetch("addresses", queryset=ChannelAddress.objects.order_by("created_at", "id"))
    )


def channel_get(*, tenant_id: uuid.UUID, channel_id: uuid.UUID | str) -> Channel:
    """The tenant's channel with this id; a deleted one, or another tenant's, is the uniform
    404."""
    return get_or_404(
        channels_of(tenant_id=tenant_id).select_related("tenant"), channel_id, "Channel"
    )


def channel_default_get(*, tenant_id: uuid.UUID, provider: str) -> Channel | None:
    """The tenant's default channel for `provider` (always active), or None: then the
    platform's account."""
    return Channel.objects.filter(tenant_id=tenant_id, provider=provider, is_default=True).first()


def channel_address_route(*, provider: str, address: str) -> ChannelAddress | None:
    """Where an inbound message to `address` at `provider` belongs: its index row, with its
    channel, whose tenant_id is the tenant; None for an address no channel holds. The address
    is read as the index keeps it (a number in E.164, local spellings in DEFAULT_PHONE_REGION).
    One index read."""
    try:
        _, normalised = channel_address_normalise(address)
    except InvalidAddress:
        return None
    return (
        ChannelAddress.objects.select_related("channel")
        .filter(provider=provider, address=normalised)
        .first()
    )
