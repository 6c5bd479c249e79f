"""Reads of the sms app: a tenant's sender IDs, the sender a send may use, a tenant's channels,
the channel an inbound address belongs to, and the provider account a tenant's sends go
through (its own default channel of the provider, else the platform's): that account's
balance and connection check, and the check of a status callback it signed."""

import logging
import uuid
from collections.abc import Collection, Mapping
from typing import Any

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.db.models.functions import Lower
from rest_framework import status as http_status

from mifumo.errors import ApplicationError, ErrorCode
from mifumo.selectors import get_or_404
from sms.channels import InvalidAddress, channel_address_normalise
from sms.credentials import CredentialsUnreadable, credentials_decrypt, secrets_scrubbed
from sms.models import Channel, ChannelAddress, SenderId
from sms.providers import get_provider, provider_for_account
from sms.providers.base import SmsProvider
from sms.providers.beem import BeemError
from sms.providers.twilio import TwilioError, TwilioProvider

logger = logging.getLogger(__name__)

CREDENTIALS_UNREADABLE = (
    "The stored credentials of this channel can no longer be read; enter them again."
)

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


def provider_balance_get(
    *, provider: SmsProvider, credentials: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """The provider account's own balance as {provider, available, credits, currency,
    unlimited, detail}; a provider that is unconfigured, unreachable or refuses is
    `available: false` with the reason, never an exception. No credential is ever included:
    the values of a tenant's own `credentials` are masked out of the reason."""
    answer = {"provider": provider.name, "credits": None, "currency": None, "unlimited": False}
    if not getattr(provider, "configured", True):
        return {**answer, "available": False, "detail": "The provider's credentials are not set."}
    try:
        balance = provider.balance()
    except (BeemError, TwilioError) as exc:
        detail = secrets_scrubbed(str(exc), credentials or {})
        return {**answer, "available": False, "detail": detail}
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


def channel_own_default_get(*, tenant_id: uuid.UUID, provider: str) -> Channel | None:
    """The tenant's default channel for `provider` when it is the tenant's own account (not a
    platform channel), active and not deleted; None: the provider's sends and checks use the
    platform's account. One read of the one-default-per-provider index."""
    own = Channel.objects.filter(
        tenant_id=tenant_id,
        provider=provider,
        is_default=True,
        is_platform=False,
        is_active=True,
        deleted_at__isnull=True,
    ).order_by()
    return next(iter(own[:1]), None)


def channel_reference(channel: Channel | None) -> dict[str, str] | None:
    """How a response names the channel it used: {id, name}, or None for the platform's
    account."""
    if channel is None:
        return None
    return {"id": str(channel.pk), "name": channel.name}


def _provider_name(provider_name: str | None) -> str:
    """The provider a tenant sends through: an operator's pick for it, else SMS_PROVIDER."""
    return provider_name or settings.SMS_PROVIDER


def provider_account_balance_get(
    *, tenant_id: uuid.UUID, provider_name: str | None, platform_too: bool
) -> dict[str, Any] | None:
    """{provider_balance, channel}: the balance of the account the tenant's sends of
    `provider_name` (None: SMS_PROVIDER) go through, as provider_balance_get gives it.

    That is its own default channel's account when it has one (`channel` {id, name}); its
    stored credentials unreadable, `available: false` saying so. Else the platform's account
    (`channel` null), only with `platform_too` (the vendor's balance is for staff); else None.
    """
    name = _provider_name(provider_name)
    channel = channel_own_default_get(tenant_id=tenant_id, provider=name)
    if channel is None:
        if not platform_too:
            return None
        balance = provider_balance_get(provider=get_provider(name))
    else:
        try:
            credentials = credentials_decrypt(channel.credentials)
        except CredentialsUnreadable:
            logger.error("The credentials of channel %s cannot be decrypted", channel.pk)
            balance = {
                "provider": name,
                "available": False,
                "credits": None,
                "currency": None,
                "unlimited": False,
                "detail": CREDENTIALS_UNREADABLE,
            }
        else:
            balance = provider_balance_get(
                provider=provider_for_account(name, credentials), credentials=credentials
            )
    return {"provider_balance": balance, "channel": channel_reference(channel)}


def provider_account_check(*, tenant_id: uuid.UUID, provider_name: str | None) -> dict[str, Any]:
    """Check the account the tenant's sends of `provider_name` (None: SMS_PROVIDER) go through
    with the provider's balance or account call (nothing is sent): its own default channel's
    when it has one, else the platform's. {provider, ok: true, detail, channel ({id, name} or
    null)}.

    502 SMS_PROVIDER_UNAVAILABLE, with that object in `details`, when the provider refuses or
    does not answer; 409 CONFLICT when the channel's stored credentials can no longer be read.
    No credential value appears in a detail.
    """
    name = _provider_name(provider_name)
    channel = channel_own_default_get(tenant_id=tenant_id, provider=name)
    if channel is None:
        check = get_provider(name).test_connection()
        detail = check.detail
        whose = "The SMS provider"
    else:
        try:
            credentials = credentials_decrypt(channel.credentials)
        except CredentialsUnreadable as exc:
            logger.error("The credentials of channel %s cannot be decrypted", channel.pk)
            raise ApplicationError(
                CREDENTIALS_UNREADABLE,
                code=ErrorCode.CONFLICT,
                status_code=http_status.HTTP_409_CONFLICT,
                details={"channel": channel_reference(channel)},
            ) from exc
        check = provider_for_account(name, credentials).test_connection()
        detail = secrets_scrubbed(check.detail, credentials)
        whose = f"Your account on channel '{channel.name}'"
    data = {
        "provider": name,
        "ok": check.ok,
        "detail": detail,
        "channel": channel_reference(channel),
    }
    if not check.ok:
        raise ApplicationError(
            f"{whose} did not answer as expected: {detail}",
            code=ErrorCode.SMS_PROVIDER_UNAVAILABLE,
            status_code=http_status.HTTP_502_BAD_GATEWAY,
            details=data,
        )
    return data


def twilio_status_callback_account(*, schema_name: str, channel_id: str) -> TwilioProvider | None:
    """The Twilio account whose auth token signs a status callback whose URL names
    `schema_name` and `channel_id` (the URL sms.providers.twilio gave with the message): the
    platform's when it names no channel (`channel_id` empty); else the account of that channel
    when it is a Twilio channel of the tenant's own, of the tenant whose schema the URL names,
    and not deleted (an inactive one's earlier messages still report). None, which verifies
    nothing, for any other channel: another tenant's, a platform one, a deleted one (its
    credentials are erased) or one whose credentials no key opens. At most one query."""
    if not channel_id:
        return TwilioProvider()
    try:
        channel_pk = uuid.UUID(channel_id)
    except ValueError:
        return None
    own = Channel.objects.filter(
        pk=channel_pk,
        provider=TwilioProvider.name,
        is_platform=False,
        deleted_at__isnull=True,
        tenant__schema_name=schema_name,
    ).only("credentials")
    channel = next(iter(own[:1]), None)
    if channel is None:
        return None
    try:
        credentials = credentials_decrypt(channel.credentials)
    except CredentialsUnreadable:
        logger.error("The credentials of channel %s cannot be decrypted", channel.pk)
        return None
    return TwilioProvider.with_credentials(credentials)


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
