"""Inbound messages: what customers write to our addresses (issue 15), from the provider's
callback to the tenant's conversation.

Storing (one INSERT per callback, answered at once):
- `inbound_store` keeps a message raw (webhooks.models.InboundMessage), once per (provider,
  provider message id): a provider's retry of the same message stores and starts nothing.
- `twilio_inbound_accept`: Twilio's form post (MessageSid, From, To, Body, NumSegments,
  NumMedia), first verified: X-Twilio-Signature over the public URL it was posted to and its
  fields, with the auth token of the tenant's own Twilio channel that owns `To` (decrypted),
  else the platform's (settings.TWILIO_AUTH_TOKEN); the account that verified the last
  callback to a number is kept for ACCOUNT_CACHE_SECONDS, so most callbacks read no index.
  Twilio's SharedKey signatures are not taken: no shared key is kept.
- `sandbox_inbound_deliver`: a message to a tenant's sandbox number, as `manage.py
  sandbox_inbound` and /webhooks/sandbox/inbound/ hand it in: stored exactly as a provider's.

Applying (`inbound_process`, a task started by the stores): pending rows are taken with
FOR UPDATE SKIP LOCKED (runs that overlap share the work), each is routed to its tenant and
channel by (provider, recipient) through the public address index (sms.models.ChannelAddress)
in one query for the batch, and each tenant's messages go to messaging.services.inbound in a
savepoint together with marking them applied: the messages and the mark commit together, so a
message is applied exactly once. Runs take their tenants in one order, each under a lock of
the tenant's, so two runs never interleave over one tenant's contacts. An address no channel
holds leaves its rows unmatched; a tenant whose messages raise leaves its rows failed with the
error (pending, for a later run, when the error was a deadlock or a serialization failure), and
the others go on.

The stores start a run at most once per PROCESS_DELAY_SECONDS however many arrive, and every
stored message is seen by a run that starts after it committed (see `_kick`).
"""

import json
import logging
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context
from rest_framework import status

from messaging.services.inbound import Inbound, inbound_messages_receive
from mifumo.errors import ApplicationError, ErrorCode, field_error
from mifumo.input_limits import has_bad_characters
from mifumo.phone import InvalidPhoneNumber, normalize_phone
from mifumo.prepared import PreparedStatement
from mifumo.principals import shared_key
from sms.channels import InvalidAddress, channel_address_normalise
from sms.channels import channel_sandbox_ensure as sandbox_channel_ensure
from sms.credentials import CredentialsUnreadable, credentials_decrypt
from sms.models import ChannelAddress, ChannelProvider
from sms.providers.twilio import TwilioProvider
from sms.segments import segment_info
from sms.selectors import channel_address_route
from tenants.models import Tenant
from webhooks.models import InboundMessage

logger = logging.getLogger(__name__)

State = InboundMessage.State
TWILIO = ChannelProvider.TWILIO
SANDBOX = ChannelProvider.SANDBOX
# How long after the first of a burst its run starts: the messages of the next moment join it.
PROCESS_DELAY_SECONDS = 0.5
# The kick's Redis key ends this long before its run is due, so no message is stored under a
# key whose run has already taken its batch (clocks of the web and worker hosts may differ).
KICK_MARGIN_SECONDS = 0.1
PROCESS_BATCH = 1000
_KICK_KEY = shared_key("webhooks", "inbound", "kick")
# Columns of InboundMessage and the lengths of the fields a provider fills in.
_ID_LENGTH = 64
_ADDRESS_LENGTH = 32
_ERROR_LENGTH = 500
_MAX_COUNT = 32767  # PositiveSmallIntegerField
_REPLACEMENT = "\ufffd"
# serialization_failure, deadlock_detected, lock_not_available
_TRANSIENT_PGCODES = frozenset({"40001", "40P01", "55P03"})


# Prepared, as the status reports' store is: planned once per connection.
_STORE = PreparedStatement(
    "webhooks_inboundmessage_store",
    """
INSERT INTO webhooks_inboundmessage (provider, provider_message_id, sender, recipient, text,
    segments, media_count, payload, state, schema_name, error, received_at)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s::jsonb, %s, '', '', now())
ON CONFLICT (provider, provider_message_id) DO NOTHING
RETURNING id
""",
)


def _storable(text: str) -> str:
    """`text` without what Postgres cannot store (NUL, lone surrogates): a customer's message
    is kept, with U+FFFD where such a character was, rather than refused."""
    if not has_bad_characters(text):
        return text
    return "".join(_REPLACEMENT if has_bad_characters(c) else c for c in text)


def _address(raw: str) -> str:
    """Our address as the index keeps it (sms.channels.channel_address_normalise), or as given
    when it is none: the row is then unmatched, and kept."""
    try:
        _, address = channel_address_normalise(raw)
    except InvalidAddress:
        return raw.strip()[:_ADDRESS_LENGTH]
    return address


def _sender(raw: str) -> str:
    """The sender in E.164, or as given when it is no phone number (applying it then fails,
    and the row is kept for an operator)."""
    try:
        return normalize_phone(raw)
    except InvalidPhoneNumber:
        return raw.strip()[:_ADDRESS_LENGTH]


def inbound_store(
    *,
    provider: str,
    provider_message_id: str,
    sender: str,
    recipient: str,
    text: str,
    segments: int,
    media_count: int = 0,
    payload: Mapping[str, Any],
) -> bool:
    """Keep one inbound message as the provider delivered it and have it applied soon; True
    when stored, False when the provider had delivered it before (then nothing is stored or
    started). `sender` and `recipient` are read as phone number and address here; `payload` is
    what the provider sent, kept as JSON. One INSERT."""
    params: list[str | int] = [
        provider,
        provider_message_id[:_ID_LENGTH],
        _sender(sender),
        _address(recipient),
        _storable(text),
        max(0, min(segments, _MAX_COUNT)),
        max(0, min(media_count, _MAX_COUNT)),
        _payload_json(payload),
        State.PENDING,
    ]
    stored = bool(_STORE.execute(params))
    if stored:
        # Robust: the message is kept whatever happens to Redis; the next store asks again.
        transaction.on_commit(_kick, robust=True)
    return stored


def _payload_json(payload: Mapping[str, Any]) -> str:
    return json.dumps(
        {_storable(str(k)): _storable(v) if isinstance(v, str) else v for k, v in payload.items()}
    )


_covered_until = 0.0


def _kick() -> None:
    """Make sure a run starts after this message's commit, asking Redis at most once per
    PROCESS_DELAY_SECONDS in each process however many messages arrive.

    The key lives while a run is due and ends KICK_MARGIN_SECONDS before it starts: a message
    that finds it (here or in Redis) committed before that run takes its batch, and one that
    does not finds no key and starts the next run itself."""
    global _covered_until
    now = time.monotonic()
    if now < _covered_until:
        return
    from webhooks.tasks import inbound_messages_process

    life_ms = int((PROCESS_DELAY_SECONDS - KICK_MARGIN_SECONDS) * 1000)
    with get_redis_connection("default").pipeline(transaction=False) as pipe:
        pipe.set(_KICK_KEY, 1, nx=True, px=life_ms)
        pipe.pttl(_KICK_KEY)
        created, ttl_ms = pipe.execute()
    if created:
        inbound_messages_process.apply_async(countdown=PROCESS_DELAY_SECONDS)
    # Measured from before Redis was asked, so never later than the key's real end.
    _covered_until = now + max(ttl_ms, 0) / 1000


# --- Twilio


# The account behind an address: one index read, its SQL written out because building the
# equivalent queryset costs ten times running it.
_ACCOUNT_SQL = """
SELECT channel.id, channel.is_platform, channel.credentials
FROM sms_channeladdress address JOIN sms_channel channel ON channel.id = address.channel_id
WHERE address.provider = %s AND address.address = %s
"""


def _twilio_account(address: str) -> TwilioProvider | None:
    """The Twilio account a message to `address` is signed by: the tenant's own channel's,
    else the platform's; None when the channel's credentials cannot be decrypted."""
    with connection.cursor() as cursor:
        cursor.execute(_ACCOUNT_SQL, [TWILIO, address])
        row = cursor.fetchone()
    if row is None or row[1]:
        return TwilioProvider()
    channel_id, _, credentials = row
    try:
        return TwilioProvider.with_credentials(credentials_decrypt(credentials))
    except CredentialsUnreadable:
        logger.error("The credentials of channel %s cannot be decrypted", channel_id)
        return None


# The account that last verified a callback to each address, for ACCOUNT_CACHE_SECONDS: most
# callbacks then read no index. It can only let a callback through sooner, never refuse one:
# what it does not verify is checked again against the index (a rotated token works at once).
# Only addresses a signed callback named are kept, so forged ones cannot grow it.
ACCOUNT_CACHE_SECONDS = 10.0
_verified_accounts: dict[str, tuple[float, TwilioProvider]] = {}


def _signs(
    account: TwilioProvider, params: dict[str, str], urls: Sequence[str], signature: str
) -> bool:
    return any(account.verify_callback(url=url, params=params, signature=signature) for url in urls)


def _twilio_verified(
    *, to: str, params: dict[str, str], urls: Sequence[str], signature: str
) -> bool:
    """True when `signature` signs `params` posted to one of `urls` with the token of the
    account that owns `to`. A number that moved to another account within the last
    ACCOUNT_CACHE_SECONDS may still verify with its old account's token."""
    if not signature:
        return False
    address = _address(to)
    cached = _verified_accounts.get(address)
    now = time.monotonic()
    if cached is not None and cached[0] > now and _signs(cached[1], params, urls, signature):
        return True
    account = _twilio_account(address)
    if account is None or not _signs(account, params, urls, signature):
        return False
    _verified_accounts[address] = (now + ACCOUNT_CACHE_SECONDS, account)
    return True


def _count(raw: str | None, default: int) -> int:
    try:
        return int(raw or default)
    except ValueError:
        return default


def twilio_inbound_accept(*, params: dict[str, str], urls: Sequence[str], signature: str) -> bool:
    """Verify a Twilio inbound message (`params`, the form it posted) against each of `urls`
    it may have been posted to, then store it (`inbound_store`); True when stored, False for
    a message Twilio had delivered before.

    403 INVALID_SIGNATURE when the signature is missing or signs nothing of these (nothing is
    stored); 400 MALFORMED_REQUEST for a signed form without MessageSid, From or To.
    """
    if not _twilio_verified(to=params.get("To", ""), params=params, urls=urls, signature=signature):
        raise ApplicationError(
            "Invalid Twilio signature.",
            code=ErrorCode.INVALID_SIGNATURE,
            status_code=status.HTTP_403_FORBIDDEN,
        )
    sid = params.get("MessageSid") or params.get("SmsMessageSid") or ""
    sender, to = params.get("From", ""), params.get("To", "")
    if not (sid and sender and to):
        raise ApplicationError(
            "A Twilio inbound message needs MessageSid, From and To.",
            code=ErrorCode.MALFORMED_REQUEST,
        )
    return inbound_store(
        provider=TWILIO,
        provider_message_id=sid,
        sender=sender,
        recipient=to,
        text=params.get("Body", ""),
        segments=_count(params.get("NumSegments"), 1),
        media_count=_count(params.get("NumMedia"), 0),
        payload=params,
    )


# --- The sandbox


@dataclass(frozen=True, slots=True)
class SandboxDelivery:
    """What the sandbox handed in: `stored` is false when the message id was delivered
    before (then nothing changed)."""

    message_id: str
    sender: str
    to: str
    schema_name: str
    stored: bool


def sandbox_inbound_enabled() -> bool:
    """The sandbox takes inbound messages where it is the provider, or in development."""
    return bool(settings.SMS_PROVIDER == SANDBOX or settings.DEBUG)


def _sandbox_route(to: str, subdomain: str) -> ChannelAddress:
    """The sandbox number written to: `to`, else the tenant's (made if it has none yet)."""
    if to:
        route = channel_address_route(provider=SANDBOX, address=to)
        if route is None:
            raise field_error("to", f"{to} is no tenant's sandbox number.")
        return route
    if not subdomain:
        raise field_error("to", "Give the sandbox number written to, or the tenant.")
    tenant = Tenant.objects.filter(subdomain=subdomain.strip().lower()).first()
    if tenant is None:
        raise field_error("tenant", f"No tenant has the subdomain '{subdomain}'.")
    channel = sandbox_channel_ensure(tenant=tenant)
    route = channel.addresses.select_related("tenant").order_by("created_at", "id").first()
    if route is None:  # made with one number just now; an operator may have taken it since
        raise field_error("tenant", f"{tenant} has no sandbox number.")
    return route


def sandbox_inbound_deliver(
    *, sender: str, text: str, to: str = "", subdomain: str = "", message_id: str = ""
) -> SandboxDelivery:
    """Deliver `text` from `sender` to a sandbox number as a provider would deliver it: to
    `to`, else to the sandbox number of the tenant with `subdomain`. `message_id` is the
    provider's id (a fresh one when empty): the same id twice is one message. The sender's
    local spellings are read in the tenant's country.

    400 on `to` for a number that is no tenant's sandbox number, or when neither is given; on
    `tenant` for an unknown subdomain; on `from` for a sender that is no phone number; on
    `text` when it is empty; on `message_id` when it is longer than 64 characters.
    """
    route = _sandbox_route(to.strip(), subdomain.strip())
    try:
        sender_e164 = normalize_phone(sender, route.tenant.country)
    except InvalidPhoneNumber as exc:
        raise field_error("from", str(exc)) from exc
    if not text.strip():
        raise field_error("text", "A message needs text.")
    message_id = message_id.strip() or f"sbx_in_{uuid.uuid4().hex}"
    if len(message_id) > _ID_LENGTH:
        raise field_error("message_id", f"A message id has at most {_ID_LENGTH} characters.")
    stored = inbound_store(
        provider=SANDBOX,
        provider_message_id=message_id,
        sender=sender_e164,
        recipient=route.address,
        text=text,
        segments=max(segment_info(text).segments, 1),
        payload={"from": sender, "to": route.address, "text": text, "message_id": message_id},
    )
    return SandboxDelivery(
        message_id=message_id,
        sender=sender_e164,
        to=route.address,
        schema_name=route.tenant.schema_name,
        stored=stored,
    )


# --- Applying


@dataclass(slots=True)
class _TenantBatch:
    """One tenant's messages of a run, with the ids of their rows."""

    tenant: Tenant
    ids: list[int] = field(default_factory=list)
    messages: list[Inbound] = field(default_factory=list)


_PENDING_FIELDS = (
    "id",
    "provider",
    "provider_message_id",
    "sender",
    "recipient",
    "text",
    "segments",
    "received_at",
)
_Row = tuple[int, str, str, str, str, str, int, datetime]


def _routes(rows: list[_Row]) -> dict[tuple[str, str], ChannelAddress]:
    """The index row of each (provider, recipient) of `rows`, with its tenant: one query."""
    providers = {row[1] for row in rows}
    addresses = {row[4] for row in rows}
    found = ChannelAddress.objects.filter(
        provider__in=providers, address__in=addresses
    ).select_related("tenant")
    return {(route.provider, route.address): route for route in found}


def _tenant_lock(schema: str) -> None:
    """Hold one tenant's inbound messages to this run, to the transaction's end."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"webhooks.inbound:{schema}"]
        )


def _transient(exc: BaseException) -> bool:
    """A deadlock, a serialization failure or a lock not available: the messages are fine
    and another run applies them."""
    return isinstance(exc, OperationalError) and (
        getattr(exc.__cause__, "pgcode", None) in _TRANSIENT_PGCODES
    )


def _error_text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:_ERROR_LENGTH]


@transaction.atomic
def inbound_process(*, limit: int = PROCESS_BATCH) -> dict[str, int]:
    """Apply up to `limit` pending inbound messages; returns how many were applied, unmatched
    and failed. A full batch starts the next run at once; messages a deadlock or a
    serialization failure held up stay pending, for a run a moment later."""
    rows: list[_Row] = list(
        InboundMessage.objects.select_for_update(skip_locked=True)
        .filter(state=State.PENDING)
        .order_by("id")
        .values_list(*_PENDING_FIELDS)[:limit]
    )
    if not rows:
        return {"applied": 0, "unmatched": 0, "failed": 0}
    routes = _routes(rows)
    unmatched: list[int] = []
    failed: list[tuple[list[int], str, str]] = []  # (ids, schema, error)
    batches: dict[uuid.UUID, _TenantBatch] = {}
    for pk, provider, message_id, sender, recipient, text, segments, received_at in rows:
        route = routes.get((provider, recipient))
        if route is None:
            unmatched.append(pk)
            continue
        try:
            sender_e164 = normalize_phone(sender, route.tenant.country)
        except InvalidPhoneNumber as exc:
            failed.append(([pk], route.tenant.schema_name, _error_text(exc)))
            continue
        batch = batches.setdefault(route.tenant_id, _TenantBatch(route.tenant))
        batch.ids.append(pk)
        batch.messages.append(
            Inbound(
                provider=provider,
                provider_message_id=message_id,
                sender=sender_e164,
                address=recipient,
                channel_id=route.channel_id,
                text=text,
                segments=segments,
                received_at=received_at,
            )
        )

    now = timezone.now()
    applied, retried = 0, 0
    # Every run takes its tenants in one order, each under its lock: runs that share tenants
    # queue behind each other instead of deadlocking over the same contacts and settings.
    for batch in sorted(batches.values(), key=lambda b: b.tenant.schema_name):
        schema = batch.tenant.schema_name
        _tenant_lock(schema)
        # The savepoint is left inside the tenant's context: a failed statement is rolled back
        # before the search path is changed on a connection whose transaction has aborted.
        with tenant_context(batch.tenant):
            try:
                with transaction.atomic():
                    inbound_messages_receive(tenant=batch.tenant, messages=batch.messages)
                    InboundMessage.objects.filter(pk__in=batch.ids).update(
                        state=State.APPLIED, schema_name=schema, processed_at=now
                    )
            except Exception as exc:  # one tenant's failure holds up no other tenant
                if _transient(exc):
                    logger.warning("Inbound messages to %s will be tried again: %s", schema, exc)
                    retried += len(batch.ids)
                    continue
                logger.exception("Inbound messages to %s could not be applied", schema)
                failed.append((batch.ids, schema, _error_text(exc)))
                continue
        applied += len(batch.ids)

    if unmatched:
        InboundMessage.objects.filter(pk__in=unmatched).update(
            state=State.UNMATCHED, processed_at=now
        )
    for ids, schema, error in failed:
        InboundMessage.objects.filter(pk__in=ids).update(
            state=State.FAILED, schema_name=schema, error=error, processed_at=now
        )
    if len(rows) == limit or retried:
        _run_again(countdown=PROCESS_DELAY_SECONDS if retried else 0)
    return {
        "applied": applied,
        "unmatched": len(unmatched),
        "failed": sum(len(ids) for ids, _, _ in failed),
    }


def _run_again(*, countdown: float) -> None:
    from webhooks.tasks import inbound_messages_process

    transaction.on_commit(lambda: inbound_messages_process.apply_async(countdown=countdown))
