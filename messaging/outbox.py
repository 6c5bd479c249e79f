"""The outbox (DESIGN section 5): the only writer of Message.status before a provider's reports
take over (messaging.status_reports), so queued messages go to a provider exactly once.

A batch task claims its messages with one conditional UPDATE (queued -> sending), so a task
that runs twice finds nothing to send. Just before a provider call one HandOver row names the
chunk's messages still the claim's (one INSERT, not a write to each message). A crash before
that row leaves messages that the sweep safely queues again; a crash after it leaves messages
whose outcome is unknown, which the sweep fails and refunds rather than risk sending twice.
Results are written back in one UPDATE per outcome, then the chunk's row is deleted; a row a
crash left behind (its messages failed, or already recorded) is deleted by the sweep with its
dead claim.
Transient provider errors are retried with backoff (SMS_RETRY_DELAYS) up to
SMS_SEND_MAX_ATTEMPTS, then the message fails and its credits are refunded.

The moves, each made by one function here (statuses reach the SQL as parameters, from
Message.Status, never as literals):

    queued -> sending                  _claim
    sending -> sent                    _record (the provider accepted it)
    sending -> queued                  _requeue (a transient error, retried later),
                                       _requeue_unclaimed (the sender's rate is spent),
                                       _recover_lost (a dead batch never handed it over)
    sending -> failed, refunded        messages_fail
    scheduled | queued -> canceled     outbox_cancel_send, refunded
    scheduled -> queued                _release_due (its time came)

Every function here runs in one tenant's schema (the tasks carry it, and pass the tenant
the batch, the sweep and a failure's refund are for). Times are the
statement's (statement_timestamp()), so a retry due "now" is due even inside a long transaction.
What a provider reports later it may hand back with its results (the sandbox's delivery
reports); they are applied by messaging.status_reports when due.

Which account a batch goes through is `provider_for`'s choice: the tenant's own default
channel of its provider when it has one, else the platform's (the settings).

Small sends are drained together: a send due now of at most a batch of messages (one code, one
receipt) gets no task of its own. Its ids join the tenant's ready list in Redis, and one drain
task per tenant at a time, on its own queue and holding one send slot, sends the list in
shared batches, each batch what arrived while the last was sent (`outbox_enqueue_ready`,
`outbox_drain`). Should Redis lose the list, the messages are still queued in the table, and
the sweep queues them again.
"""

import logging
import threading
import time
from collections import OrderedDict, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from itertools import groupby
from typing import Any
from uuid import UUID, uuid4

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.signals import setting_changed
from django.db import connection, transaction
from django.db.models import Exists, F, OuterRef, Q
from django.db.models.functions import Greatest
from django.dispatch import receiver
from django.utils import timezone
from django_redis import get_redis_connection

from billing.services import credit_refund
from messaging.models import Campaign, HandOver, Message, SendRequest
from mifumo import events
from mifumo.errors import ErrorCode
from mifumo.principals import shared_key
from mifumo.tenancy import current_schema_name, task_headers
from sms.channels import channel_provider
from sms.credentials import CredentialsUnreadable
from sms.leases import claim_lease, claims_alive
from sms.models import Channel
from sms.providers import get_provider
from sms.providers.base import OutboundSms, SendContext, SendResult, SmsProvider
from sms.selectors import channel_own_default_get
from sms.services import callback_routes_record
from sms.throttle import sender_segments_wait, tenant_send_slot
from tenants.models import Tenant

logger = logging.getLogger(__name__)

Status = Message.Status
SEND_INTERRUPTED = "SEND_INTERRUPTED"
PROVIDER_UNAVAILABLE = "SMS_PROVIDER_UNAVAILABLE"
_OPTED_OUT_SINCE = (
    ErrorCode.CONTACT_OPTED_OUT.value,
    "The contact opted out after this message was queued; it was not sent.",
)
# A paused or cancelled campaign's messages wait in the queue: no batch claims them.
_HELD_CAMPAIGN_STATUSES = [Campaign.Status.PAUSED, Campaign.Status.CANCELLED]


@dataclass(frozen=True, slots=True)
class Claimed:
    id: str
    recipient: str
    text: str
    sender: str
    encoding: str
    segments: int
    attempts: int
    # Its contact opted out after it was queued: it must not go out.
    stopped: bool


# Providers on tenants' own accounts, built once per state of their channel and kept with
# their HTTP sessions: the outbox sends batches all the time.
_ACCOUNT_PROVIDERS_MAX = 256
_AccountKey = tuple[UUID, UUID, datetime]


class _AccountProviders:
    """A small LRU of providers by (tenant, channel, the channel's updated_at): every change
    to a channel (credentials, default, deactivation, deletion) moves updated_at, so a
    changed channel is built afresh at once and its old entry ages out."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._entries: OrderedDict[_AccountKey, SmsProvider] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, tenant: Tenant, channel: Channel) -> SmsProvider:
        """The channel's provider; raises CredentialsUnreadable (nothing is kept then)."""
        key = (tenant.pk, channel.pk, channel.updated_at)
        with self._lock:
            provider = self._entries.get(key)
            if provider is not None:
                self._entries.move_to_end(key)
                return provider
        provider = channel_provider(channel=channel)
        with self._lock:
            self._entries[key] = provider
            if len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return provider

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_account_providers = _AccountProviders(_ACCOUNT_PROVIDERS_MAX)
# The platform's providers (the settings' accounts), one a name, kept with their connections.
_platform_providers: dict[str, SmsProvider] = {}


def _platform_provider(name: str) -> SmsProvider:
    provider = _platform_providers.get(name)
    if provider is None:
        provider = _platform_providers.setdefault(name, get_provider(name))
    return provider


@receiver(setting_changed)
def _providers_forget(**kwargs: Any) -> None:
    """Providers read their settings once, when built: a changed setting (tests change them)
    has them built again."""
    _platform_providers.clear()
    _account_providers.clear()


def _provider_name(tenant: Tenant) -> str:
    """The name of the provider the tenant's messages go through."""
    return tenant.sms_provider_name or settings.SMS_PROVIDER


def _provider_route(tenant: Tenant) -> tuple[SmsProvider, Channel | None]:
    """The provider a batch of the tenant's goes through, and the tenant's own channel it
    works on (None: the platform's account). One query, for the channel."""
    name = _provider_name(tenant)
    channel = channel_own_default_get(tenant_id=tenant.pk, provider=name)
    if channel is None:
        return _platform_provider(name), None
    try:
        return _account_providers.get(tenant, channel), channel
    except CredentialsUnreadable:
        logger.error(
            "The credentials of channel %s (tenant %s) cannot be decrypted: its %s sends fail",
            channel.pk,
            tenant.pk,
            name,
        )
        raise


def provider_for(tenant: Tenant) -> SmsProvider:
    """The tenant's provider: the one an operator picked for it (tenants.admin), else
    SMS_PROVIDER; working on the tenant's own account when its default channel of that
    provider is its own (not a platform channel, active, not deleted), else on the
    platform's (the settings).

    Raises ImproperlyConfigured for a provider the registry lacks, and CredentialsUnreadable
    when the own channel's credentials cannot be decrypted (the key that encrypted them was
    rotated away): the outbox then fails the batch and refunds it, and never sends it through
    the platform's account instead, which would send as someone the tenant did not choose.
    """
    return _provider_route(tenant)[0]


def outbox_enqueue(message_ids: Iterable[str | UUID], *, countdown: float | None = None) -> None:
    """Hand queued messages to batch tasks once the current transaction commits."""
    from messaging.tasks import outbox_batch_send

    ids = [str(message_id) for message_id in message_ids]
    size, headers = settings.SMS_SEND_BATCH_SIZE, task_headers(current_schema_name())
    for start in range(0, len(ids), size):
        batch = ids[start : start + size]
        transaction.on_commit(
            partial(
                outbox_batch_send.apply_async,
                kwargs={"message_ids": batch},
                countdown=countdown,
                headers=headers,
            )
        )


def outbox_enqueue_send(send_request_id: str | UUID, *, mark_contacted: bool = False) -> None:
    """Once the current transaction commits, have a task hand the send's queued messages to
    batch tasks (outbox_send_release), so the request or beat run that made them waits for
    none of it; with `mark_contacted`, the task then sets the contacts' last_contacted_at."""
    from messaging.tasks import outbox_send_release

    kwargs = {"send_request_id": str(send_request_id), "mark_contacted": mark_contacted}
    transaction.on_commit(
        partial(
            outbox_send_release.apply_async,
            kwargs=kwargs,
            headers=task_headers(current_schema_name()),
        )
    )


# How long after the first small send of a burst the tenant's drain starts: the sends of the
# next moment join it.
DRAIN_DELAY_SECONDS = 0.05
# A drain that has sent this long hands over to a fresh task, so the queue's other tasks (and
# other tenants' batches) are not kept waiting behind a steady stream of small sends.
DRAIN_MAX_SECONDS = 5.0

# Takes up to ARGV[1] ids off the ready list (KEYS[1]) and keeps the drain key (KEYS[2]) for
# ARGV[2] ms more; an empty list instead ends the key, in the same step, so a send that pushes
# after it finds no key and starts the next drain itself.
_TAKE_READY = """
local ids = redis.call('LPOP', KEYS[1], ARGV[1])
if ids then
    redis.call('SET', KEYS[2], 1, 'PX', ARGV[2])
    return ids
end
redis.call('DEL', KEYS[2])
return {}
"""


def _ready_keys(schema_name: str) -> tuple[str, str]:
    """The tenant's ready list, and the key that says a drain is due or at work on it."""
    return shared_key("outbox", "ready", schema_name), shared_key("outbox", "drain", schema_name)


def outbox_enqueue_ready(message_ids: Sequence[str]) -> None:
    """Once the current transaction commits, put a small send's queued messages on the
    tenant's ready list and make sure a drain takes them. Robust: the messages are queued
    whatever happens to Redis, and the sweep finds them if it is down."""
    push = partial(_ready_push, current_schema_name(), list(message_ids))
    transaction.on_commit(push, robust=True)


def _ready_push(schema_name: str, message_ids: list[str]) -> None:
    """One round trip to Redis. A send that finds the drain key pushed its ids before that
    drain's next take, which takes them or finds the list non-empty; one that finds no key
    starts a drain. The key lapses after SMS_LEASE_SECONDS should its drain be lost."""
    ready, drain = _ready_keys(schema_name)
    with get_redis_connection("default").pipeline(transaction=False) as pipe:
        pipe.rpush(ready, *message_ids)
        pipe.set(drain, 1, nx=True, px=settings.SMS_LEASE_SECONDS * 1000)
        started = pipe.execute()[1]
    if started:
        _drain_later(schema_name, countdown=DRAIN_DELAY_SECONDS)


def outbox_drain(*, tenant: Tenant, after_batch: Callable[[list[str]], object]) -> int:
    """Send the tenant's ready list (in its schema) under one send slot, a batch at a time,
    calling `after_batch(ids)` after each; returns how many were claimed. Without a slot the
    list is left as it is and a drain is due again shortly (still on its own queue, not behind
    the batches in `sends`)."""
    with tenant_send_slot(tenant.schema_name) as granted:
        if not granted:
            _drain_later(tenant.schema_name, countdown=settings.SMS_SLOT_RETRY_SECONDS)
            return 0
        claimed = 0
        for message_ids in outbox_ready_batches(tenant.schema_name):
            claimed += _batch_send(tenant, message_ids)
            after_batch(message_ids)
        return claimed


def _drain_later(schema_name: str, *, countdown: float | None = None) -> None:
    """A drain task for the tenant, its key set (by the caller) to say one is due."""
    from messaging.tasks import outbox_drain as drain_task

    drain_task.apply_async(countdown=countdown, headers=task_headers(schema_name))


def outbox_ready_batches(schema_name: str) -> Iterator[list[str]]:
    """Take the tenant's ready list a batch at a time until a take finds it empty, which ends
    the drain; what arrives while a batch is sent is the next batch. After DRAIN_MAX_SECONDS a
    fresh drain task goes on where this one stops."""
    ready, drain = _ready_keys(schema_name)
    redis, size = get_redis_connection("default"), settings.SMS_SEND_BATCH_SIZE
    keep_ms = settings.SMS_LEASE_SECONDS * 1000
    deadline = time.monotonic() + DRAIN_MAX_SECONDS
    while time.monotonic() < deadline:
        ids = redis.eval(_TAKE_READY, 2, ready, drain, size, keep_ms)
        if not ids:
            return
        yield [message_id.decode() for message_id in ids]
    _drain_later(schema_name)  # the key is still held


# A send this large changes what the planner should expect of the outbox: with statistics
# from before it, it takes the new queued rows for a handful and hashes the whole table for
# every batch's claim (315 ms instead of a few at 1M queued). So they are refreshed first.
_ANALYZE_FROM = 10_000


def outbox_send_release(*, send_request_id: str) -> int:
    """Queue batch tasks for a send's queued messages; returns how many. The ids are read in
    id order (a batch then sits together in the index) from a server-side cursor, so a send of
    any size costs little memory. A task with no transaction to wait for, it publishes the
    batches itself rather than through outbox_enqueue's on_commit."""
    from messaging.tasks import outbox_batch_send

    if SendRequest.objects.filter(pk=send_request_id, recipient_count__gte=_ANALYZE_FROM).exists():
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE messaging_message")
    queued = Message.objects.filter(send_request_id=UUID(send_request_id), status=Status.QUEUED)
    ids = queued.order_by("id").values_list("id", flat=True)
    size, count, batch = settings.SMS_SEND_BATCH_SIZE, 0, []
    for message_id in ids.iterator(chunk_size=50 * size):
        batch.append(str(message_id))
        if len(batch) == size:
            outbox_batch_send.delay(message_ids=batch)
            count, batch = count + len(batch), []
    if batch:
        outbox_batch_send.delay(message_ids=batch)
    return count + len(batch)


def _execute(sql: str, params: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run one statement; its RETURNING rows, if it has any."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall() if cursor.description else []


def _claim(message_ids: list[str], claim_id: str, provider: str) -> list[Claimed]:
    """queued -> sending, for the batch's messages that are due and not held by a campaign,
    naming the `provider` they go through.

    Each comes back `stopped` when its recipient opted out after it was made (a campaign
    queued before the STOP, a scheduled send): a message made later went to an opted-out
    contact on purpose, as the STOP's confirmation does. A deleted contact's opt-out counts,
    as it does when a send is made."""
    rows = _execute(
        """
        UPDATE messaging_message AS m SET status = %(sending)s, claim_id = %(claim_id)s,
            sending_at = statement_timestamp(), attempts = m.attempts + 1,
            provider = %(provider)s, updated_at = statement_timestamp()
        -- a join on the batch's ids: each is one primary-key probe, whatever the stats say
        FROM unnest(%(ids)s::uuid[]) AS batch(id)
        WHERE m.id = batch.id AND m.status = %(queued)s
            AND (m.next_attempt_at IS NULL OR m.next_attempt_at <= statement_timestamp())
            AND NOT EXISTS (
                SELECT 1 FROM messaging_campaign AS c
                WHERE c.send_request_id = m.send_request_id AND c.status = ANY(%(held)s)
            )
        RETURNING m.id::text, m.recipient, m.text, m.sender, m.encoding, m.segments,
            m.attempts, EXISTS (
                SELECT 1 FROM messaging_contact AS c
                WHERE c.phone_e164 = m.recipient AND c.opt_out_at IS NOT NULL
                    AND NOT c.is_opted_in AND c.opt_out_at > m.created_at
            )
        """,
        {
            "sending": Status.SENDING,
            "queued": Status.QUEUED,
            "claim_id": claim_id,
            "provider": provider,
            "ids": message_ids,
            "held": _HELD_CAMPAIGN_STATUSES,
        },
    )
    return sorted((Claimed(*row) for row in rows), key=lambda m: m.sender)


def _requeue(ids: list[str], *, delay: float, error_code: str = "", error: str = "") -> None:
    """sending -> queued: claimed messages go out again after `delay` seconds."""
    if not ids:
        return
    _execute(
        """
        UPDATE messaging_message SET status = %(queued)s,
            next_attempt_at = statement_timestamp() + make_interval(secs => %(delay)s),
            error_code = %(error_code)s, error_message = %(error)s,
            updated_at = statement_timestamp()
        WHERE id = ANY(%(ids)s::uuid[]) AND status = %(sending)s
        """,
        {
            "queued": Status.QUEUED,
            "sending": Status.SENDING,
            "delay": delay,
            "error_code": error_code,
            "error": error[:500],
            "ids": ids,
        },
    )
    if delay < settings.SMS_COUNTDOWN_MAX_SECONDS:
        outbox_enqueue(ids, countdown=delay)
    # Longer delays are released by the outbox sweep from next_attempt_at.


@transaction.atomic
def messages_fail(failures: dict[str, tuple[str, str]], *, tenant_id: UUID) -> int:
    """sending -> failed: fail messages being sent (id -> (error_code, error_message)) and
    refund their credits, per send request, in the same transaction. Returns how many failed."""
    if not failures:
        return 0
    rows = _execute(
        """
        UPDATE messaging_message AS m SET status = %(failed)s,
            failed_at = statement_timestamp(), error_code = f.code, error_message = f.message,
            updated_at = statement_timestamp()
        FROM unnest(%(ids)s::uuid[], %(codes)s::text[], %(messages)s::text[])
            AS f(id, code, message)
        WHERE m.id = f.id AND m.status = %(sending)s
        RETURNING m.id::text, m.send_request_id::text, m.credits
        """,
        {
            "failed": Status.FAILED,
            "sending": Status.SENDING,
            "ids": list(failures),
            "codes": [code for code, _ in failures.values()],
            "messages": [message[:500] for _, message in failures.values()],
        },
    )
    refunds: dict[str, list[int]] = defaultdict(list)
    for _, send_request_id, credits in rows:
        refunds[send_request_id or ""].append(credits)
    for send_request_id, credits in refunds.items():
        credit_refund(
            tenant_id=tenant_id,
            credits=sum(credits),
            reference=send_request_id,
            reason=f"{len(credits)} message(s) failed to send",
        )
    if rows:
        events.publish("message.failed", {"message_ids": [row[0] for row in rows]})
    return len(rows)


@transaction.atomic
def outbox_cancel_send(*, tenant_id: UUID, send_request_id: str | UUID, reason: str) -> int:
    """scheduled | queued -> canceled: stop what a send has not handed over yet and refund it
    in the same transaction (one ledger entry, `reason` with the count). What is being sent
    or was sent stays as it is. Returns how many were canceled; a second call cancels none."""
    rows = _execute(
        """
        UPDATE messaging_message SET status = %(canceled)s,
            canceled_at = statement_timestamp(), updated_at = statement_timestamp()
        WHERE send_request_id = %(send_request_id)s AND status = ANY(%(unsent)s)
        RETURNING credits
        """,
        {
            "canceled": Status.CANCELED,
            "send_request_id": str(send_request_id),
            "unsent": [Status.SCHEDULED, Status.QUEUED],
        },
    )
    credit_refund(
        tenant_id=tenant_id,
        credits=sum(credits for (credits,) in rows),
        reference=str(send_request_id),
        reason=f"{reason}: {len(rows)} message(s) not sent",
    )
    return len(rows)


def _record(
    tenant: Tenant, provider: SmsProvider, chunk: list[Claimed], results: list[SendResult]
) -> None:
    """sending -> sent for what the provider accepted (one UPDATE), then a retry or a failure
    for the rest."""
    by_reference = {result.reference: result for result in results}
    accepted = [r for m in chunk if (r := by_reference.get(m.id)) is not None and r.accepted]
    if accepted:
        _execute(
            """
            UPDATE messaging_message AS m SET
                status = CASE WHEN m.status = %(sending)s THEN %(sent)s ELSE m.status END,
                sent_at = COALESCE(m.sent_at, statement_timestamp()),
                provider_message_id = r.pid, error_code = '', error_message = '',
                updated_at = statement_timestamp()
            FROM unnest(%(ids)s::uuid[], %(pids)s::text[]) AS r(id, pid)
            WHERE m.id = r.id
            """,
            {
                "sending": Status.SENDING,
                "sent": Status.SENT,
                "ids": [r.reference for r in accepted],
                "pids": [r.provider_message_id for r in accepted],
            },
        )
        events.publish("message.sent", {"message_ids": [r.reference for r in accepted]})
        if provider.routes_callbacks:
            callback_routes_record(
                provider=provider.name,
                provider_message_ids=[r.provider_message_id for r in accepted],
                schema_name=tenant.schema_name,
            )
    retry_by_delay: dict[float, list[str]] = defaultdict(list)
    retry_errors: dict[str, tuple[str, str]] = {}
    failures: dict[str, tuple[str, str]] = {}
    delays = settings.SMS_RETRY_DELAYS
    for message in chunk:
        result = by_reference.get(message.id)
        if result is None:
            failures[message.id] = ("NO_PROVIDER_RESULT", "The provider did not report on it.")
        elif result.accepted:
            continue
        elif result.transient and message.attempts < settings.SMS_SEND_MAX_ATTEMPTS:
            delay = delays[min(message.attempts, len(delays)) - 1]
            retry_by_delay[delay].append(message.id)
            retry_errors[message.id] = (result.error_code, result.error_message)
        else:
            failures[message.id] = (result.error_code or "SMS_SEND_FAILED", result.error_message)
    for delay, ids in retry_by_delay.items():
        code, error = retry_errors[ids[0]]
        _requeue(ids, delay=delay, error_code=code, error=error)
    messages_fail(failures, tenant_id=tenant.pk)
    _reports_schedule(results)


def _reports_schedule(results: Sequence[SendResult]) -> None:
    """Have the reports a provider made itself (the sandbox's) applied when they are due."""
    from messaging.tasks import status_reports_apply

    due: dict[float, list[dict[str, str | None]]] = defaultdict(list)
    for result in results:
        for scheduled in result.scheduled_reports:
            due[scheduled.delay].append(scheduled.report.as_json())
    headers = task_headers(current_schema_name())
    for delay, reports in due.items():
        transaction.on_commit(
            partial(
                status_reports_apply.apply_async,
                kwargs={"reports": reports},
                countdown=delay,
                headers=headers,
            )
        )


def _hand_over(
    tenant: Tenant,
    provider: SmsProvider,
    context: SendContext,
    chunk: list[Claimed],
    claim_id: str,
) -> None:
    """Name in one HandOver row the chunk's messages that are still this batch's, send them,
    record the results, then delete the row."""
    handed = _execute(
        """
        INSERT INTO messaging_handover (claim_id, message_ids, created_at)
        SELECT %(claim_id)s::uuid, array_agg(m.id), statement_timestamp()
        -- each id one primary-key probe, whatever the stats say: a plain join hashes the
        -- whole table, or reads every `sending` row when the stats say there are none
        FROM unnest(%(ids)s::uuid[]) AS ids(id), LATERAL (
            SELECT id, status, claim_id FROM messaging_message WHERE id = ids.id LIMIT 1
        ) AS m
        WHERE m.status = %(sending)s AND m.claim_id = %(claim_id)s::uuid
        HAVING count(*) > 0
        RETURNING id, message_ids::text[]
        """,
        {"claim_id": claim_id, "ids": [m.id for m in chunk], "sending": Status.SENDING},
    )
    if not handed:
        return
    # Only what is still this batch's goes out: a message the sweep took back is another's.
    ((hand_over_id, handed_ids),) = handed
    still_ours = set(handed_ids)
    chunk = [m for m in chunk if m.id in still_ours]
    outbound = [
        OutboundSms(
            reference=m.id, to=m.recipient, text=m.text, sender=m.sender, encoding=m.encoding
        )
        for m in chunk
    ]
    _record(tenant, provider, chunk, provider.send_batch(outbound, context))
    _execute("DELETE FROM messaging_handover WHERE id = %(id)s", {"id": hand_over_id})


def outbox_batch_send(*, tenant: Tenant, message_ids: list[str]) -> int:
    """Send one batch of the tenant's queued messages (in its schema); returns how many were
    claimed.

    Runs only while the tenant holds a send slot; otherwise the batch is queued again shortly.
    """
    with tenant_send_slot(tenant.schema_name) as granted:
        if not granted:
            outbox_enqueue(message_ids, countdown=settings.SMS_SLOT_RETRY_SECONDS)
            return 0
        return _batch_send(tenant, message_ids)


def _batch_send(tenant: Tenant, message_ids: list[str]) -> int:
    """Claim and send a batch, the tenant's send slot held."""
    claim_id = str(uuid4())
    with claim_lease(claim_id):
        claimed = _claim(message_ids, claim_id, _provider_name(tenant))
        return _send_claimed(tenant, claimed, claim_id)


def _send_claimed(tenant: Tenant, claimed: list[Claimed], claim_id: str) -> int:
    if not claimed:
        return 0
    count = len(claimed)
    stopped = {m.id: _OPTED_OUT_SINCE for m in claimed if m.stopped}
    if stopped:
        messages_fail(stopped, tenant_id=tenant.pk)
        claimed = [m for m in claimed if not m.stopped]
        if not claimed:
            return count
    try:
        provider, channel = _provider_route(tenant)
    except (ImproperlyConfigured, CredentialsUnreadable) as exc:
        # Retrying cannot mend a provider that cannot be built: fail and refund now. A
        # channel's unreadable credentials never fall back to the platform's account.
        if isinstance(exc, CredentialsUnreadable):
            error = "The stored credentials of the sending channel cannot be read."
        else:
            error = str(exc)
        failures = {m.id: (PROVIDER_UNAVAILABLE, error) for m in claimed}
        messages_fail(failures, tenant_id=tenant.pk)
        return count
    context = SendContext(
        schema_name=tenant.schema_name, channel_id=str(channel.pk) if channel else ""
    )
    waiting: list[Claimed] = []
    for sender, group in groupby(claimed, key=lambda m: m.sender):
        messages = list(group)
        for start in range(0, len(messages), settings.SMS_PROVIDER_CHUNK_SIZE):
            chunk = messages[start : start + settings.SMS_PROVIDER_CHUNK_SIZE]
            if _throttle(sender, sum(m.segments for m in chunk)):
                waiting.extend(messages[start:])  # this sender's rate is spent for now
                break
            _hand_over(tenant, provider, context, chunk, claim_id)
    # What a sender's rate did not allow goes back to the queue, as it was before the claim.
    if waiting:
        _requeue_unclaimed(waiting)
    return count


def _throttle(sender: str, segments: int) -> float:
    """Wait for the sender's rate up to SMS_THROTTLE_MAX_SLEEP; returns the wait still owed."""
    deadline = time.monotonic() + settings.SMS_THROTTLE_MAX_SLEEP_SECONDS
    while True:
        wait = sender_segments_wait(sender, segments)
        if not wait:
            return 0.0
        if time.monotonic() + wait > deadline:
            return wait
        time.sleep(wait)


def _requeue_unclaimed(messages: list[Claimed]) -> None:
    """sending -> queued, undoing a claim: the attempt did not happen, so it is not counted.
    A message that a hand-over of its claim names (another batch's, since the sweep took it
    back) stays as it is."""
    ids = [m.id for m in messages]
    _execute(
        """
        UPDATE messaging_message AS m SET status = %(queued)s, attempts = m.attempts - 1,
            updated_at = statement_timestamp()
        WHERE m.id = ANY(%(ids)s::uuid[]) AND m.status = %(sending)s AND NOT EXISTS (
            SELECT 1 FROM messaging_handover AS h
            WHERE h.claim_id = m.claim_id AND m.id = ANY(h.message_ids)
        )
        """,
        {"queued": Status.QUEUED, "sending": Status.SENDING, "ids": ids},
    )
    outbox_enqueue(ids, countdown=settings.SMS_SLOT_RETRY_SECONDS)


SEND_QUEUES = ("transactional", "sends")


def send_queue_length() -> int:
    """Tasks waiting in the broker's send queues: drains in `transactional`, batches in
    `sends` (a queue never declared counts 0)."""
    from amqp.exceptions import ChannelError

    from mifumo.celery import app

    count = 0
    with app.connection_for_read() as broker:
        for queue in SEND_QUEUES:
            try:
                declared = broker.default_channel.queue_declare(queue=queue, passive=True)
            except ChannelError:  # no such queue (Redis drops an empty list): nothing waits
                continue
            count += declared.message_count
    return count


def _dead_claims() -> set[str]:
    """The claims of messages still `sending`, or of hand-overs left behind, that no batch is
    at work on any more: their lease lapsed (a killed worker, a task that raised)."""
    sending = Message.objects.filter(status=Status.SENDING).exclude(claim_id=None).order_by()
    claims = {
        str(claim_id)
        for claim_id in sending.values_list("claim_id", flat=True).union(
            HandOver.objects.values_list("claim_id", flat=True)
        )
    }
    return claims - claims_alive(claims)


def _abandoned_claims(dead: set[str], stale: datetime) -> Q:
    """Messages left `sending` by a batch no longer at work: its claim is `dead` or, for a
    claim made before leases, it is stale."""
    return Q(status=Status.SENDING) & (
        Q(claim_id__in=dead) | Q(claim_id__isnull=True, sending_at__lt=stale)
    )


def _handed_over() -> Exists:
    """Whether a hand-over of the message's claim names it: only the provider knows its fate."""
    return Exists(
        HandOver.objects.filter(
            claim_id=OuterRef("claim_id"), message_ids__contains=[OuterRef("pk")]
        )
    )


def _release_due(now: datetime) -> list[UUID]:
    """scheduled -> queued, for scheduled messages whose time has come."""
    due = Message.objects.filter(status=Status.SCHEDULED, scheduled_at__lte=now)
    due_ids = list(due.values_list("id", flat=True))
    Message.objects.filter(pk__in=due_ids, status=Status.SCHEDULED).update(
        status=Status.QUEUED, queued_at=now, updated_at=now
    )
    return due_ids


def _recover_lost(abandoned: Q, now: datetime) -> list[UUID]:
    """sending -> queued, for an abandoned claim's messages that were never handed over: that
    attempt did not happen, so it is not counted."""
    lost = Message.objects.filter(abandoned, ~_handed_over())
    lost_ids = list(lost.values_list("id", flat=True))
    Message.objects.filter(pk__in=lost_ids, status=Status.SENDING).update(
        status=Status.QUEUED, attempts=Greatest(F("attempts") - 1, 0), updated_at=now
    )
    return lost_ids


def outbox_sweep(*, tenant: Tenant, send_queue_empty: bool = True) -> dict[str, int]:
    """Keep the tenant's outbox moving (in its schema); run by beat for every tenant.

    Releases due scheduled messages, queues again what a lost task or a killed worker left
    behind, fails (with a refund) messages whose hand-over was interrupted, and deletes the
    dead claims' hand-overs. A killed worker's messages come back within its lease
    (SMS_LEASE_SECONDS) plus a sweep; a lost task's within SMS_OUTBOX_LOST_SECONDS when the
    send queue is empty (`send_queue_empty`), else after SMS_OUTBOX_STALE_SECONDS, since they
    may still wait in it.
    """
    now = timezone.now()
    stale = now - timedelta(seconds=settings.SMS_OUTBOX_STALE_SECONDS)
    counts = {}
    with transaction.atomic():
        due_ids = _release_due(now)
        counts["released"] = len(due_ids)

        # No hand-over is written while the sweep decides (a worker whose lease lapsed may be
        # alive still): one being written is seen, one that waits then sees the messages taken
        # back and names none of them.
        _execute("LOCK TABLE messaging_handover IN SHARE ROW EXCLUSIVE MODE", {})
        dead = _dead_claims()
        abandoned = _abandoned_claims(dead, stale)
        lost_ids = _recover_lost(abandoned, now)
        counts["recovered"] = len(lost_ids)

        interrupted = Message.objects.filter(abandoned, _handed_over()).values_list("id", flat=True)
        message = "The worker stopped while handing it to the provider; not resent."
        counts["interrupted"] = messages_fail(
            {str(i): (SEND_INTERRUPTED, message) for i in interrupted}, tenant_id=tenant.pk
        )
        # What the dead claims handed over is failed or was recorded: their rows are done.
        HandOver.objects.filter(claim_id__in=dead).delete()

        retry_due = now - timedelta(seconds=settings.SMS_RETRY_GRACE_SECONDS)
        lost = now - timedelta(seconds=settings.SMS_OUTBOX_LOST_SECONDS)
        # Queued long ago and never claimed, or a retry well past its time: the task is lost.
        stuck = Message.objects.filter(status=Status.QUEUED).filter(
            Q(next_attempt_at__isnull=True, queued_at__lt=lost if send_queue_empty else stale)
            | Q(next_attempt_at__isnull=False, next_attempt_at__lt=retry_due)
        )
        stuck_ids = list(stuck.values_list("id", flat=True)[: settings.SMS_SWEEP_MAX_MESSAGES])
        counts["requeued"] = len(stuck_ids)
        outbox_enqueue([*due_ids, *lost_ids, *stuck_ids])
    return counts
