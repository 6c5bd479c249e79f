"""A real worker process killed with SIGKILL in the middle of a batch, of a send or of a
campaign, with a hundred provider requests in flight, or draining small sends: after a restart
and a sweep every message ends sent or failed (an unknown outcome failed and refunded), and the
provider saw none of them twice."""

import signal
import subprocess
import time

from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging import outbox
from messaging.models import Campaign, Message
from messaging.services.campaign_progress import campaign_counters_refresh
from messaging.services.campaigns import campaign_create, campaign_start
from messaging.services.messages import SendInput, send_to_numbers
from messaging.tasks import outbox_batch_send
from mifumo.celery import app as celery_app
from tests.conftest import committed
from tests.fakes.beem import API_KEY, SECRET_KEY, FakeBeem
from tests.messaging.helpers import make_contacts, message_fields, new_phone
from tests.sms.helpers import balance_of, fund
from tests.workers import start_worker as start_celery_worker

MESSAGES = 100
CHUNK = 20
LEASE_SECONDS = 2


def start_worker(beem: FakeBeem, overrides: dict[str, str] | None = None) -> subprocess.Popen:
    env = {
        "DEBUG": "true",
        "SMS_PROVIDER": "beem",
        "BEEM_API_KEY": API_KEY,
        "BEEM_SECRET_KEY": SECRET_KEY,
        "BEEM_SEND_URL": beem.send_url,
        "SMS_PROVIDER_CHUNK_SIZE": str(CHUNK),
        # The killed worker's claim and slot leases lapse 2 s after its last heartbeat.
        "SMS_LEASE_SECONDS": str(LEASE_SECONDS),
        **(overrides or {}),
    }
    # Both send queues, and `default`: a campaign start's fan-out task is taken there.
    return start_celery_worker("transactional,sends,default", env)


def wait_for(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def statuses(tenant) -> dict[str, int]:
    with tenant_context(tenant):
        rows = Message.objects.values_list("status", flat=True)
        return {status: list(rows).count(status) for status in set(rows)}


def kill_the_worker(workers: list, beem: FakeBeem) -> None:
    workers[0].send_signal(signal.SIGKILL)
    workers[0].wait()
    workers.append(start_worker(beem))


def cut_the_database_connections(workers: list, beem: FakeBeem) -> None:
    """What a Postgres restart does to a worker: every connection it holds is dropped."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
        assert cursor.fetchone()[0] >= 1


def third_chunk_in_hand(beem: FakeBeem) -> bool:
    return beem.accepted_count >= 2 * CHUNK


def send_through(
    tenant,
    hand_over,
    disrupt=kill_the_worker,
    *,
    ready=third_chunk_in_hand,
    latency: float = 0.4,
    overrides: dict[str, str] | None = None,
) -> tuple[list[str], dict[str, int]]:
    """Start a worker (its settings changed by `overrides`), call `hand_over()` (in the
    tenant) to give it messages, `disrupt` it once Beem is `ready` (by default: two chunks
    through, the third in its hands), and sweep as beat does. Returns the references Beem
    accepted and the sweeps' counts, once every message is sent or failed, which must be soon
    after the disruption (the dead worker's lease is LEASE_SECONDS)."""
    celery_app.conf.task_always_eager = False
    workers = []
    try:
        with FakeBeem(latency=latency) as beem:
            workers.append(start_worker(beem, overrides))
            with tenant_context(tenant):
                hand_over()
            wait_for(lambda: ready(beem))
            time.sleep(0.2)
            disrupt(workers, beem)
            disrupted_at = time.monotonic()
            counts = {"recovered": 0, "interrupted": 0, "requeued": 0}
            while not set(statuses(tenant)) <= {"sent", "failed"}:
                assert time.monotonic() - disrupted_at < LEASE_SECONDS + 15, statuses(tenant)
                with tenant_context(tenant):
                    swept = outbox.outbox_sweep(
                        tenant=tenant, send_queue_empty=outbox.send_queue_length() == 0
                    )
                counts = {key: counts[key] + swept[key] for key in counts}
                time.sleep(0.5)
            return [sms.reference for sms in beem.accepted], counts
    finally:
        celery_app.conf.task_always_eager = True
        for worker in workers:
            worker.kill()
            worker.wait()


def queued_batch(tenant, count: int = MESSAGES, personalised: bool = False) -> list[str]:
    """`count` queued messages; personalised, each its own text (a Beem request each)."""
    with tenant_context(tenant):
        messages = Message.objects.bulk_create(
            Message(
                **message_fields(
                    status="queued",
                    recipient=f"+2557140{n:05d}",
                    text=f"Habari mteja {n}" if personalised else "Habari",
                    queued_at=timezone.now(),
                )
            )
            for n in range(count)
        )
    return [str(m.pk) for m in messages]


def assert_each_sent_once_or_failed_interrupted(tenant, accepted: list[str]) -> None:
    final = statuses(tenant)
    assert sum(final.values()) == MESSAGES
    assert len(accepted) == len(set(accepted)), "a message reached the provider twice"
    with tenant_context(tenant):
        sent = set(Message.objects.filter(status="sent").values_list("id", flat=True))
        failed = Message.objects.filter(status="failed")
        assert {error for error in failed.values_list("error_code", flat=True)} <= {
            outbox.SEND_INTERRUPTED
        }
    assert {str(pk) for pk in sent} <= set(accepted)
    assert final.get("failed", 0) <= CHUNK  # at most the chunk in flight when it happened


@committed
def test_a_worker_killed_mid_batch_loses_nothing_and_sends_nothing_twice(
    committed_tenant, settings
):
    tenant = committed_tenant.tenant
    fund(tenant, MESSAGES)
    settings.SMS_OUTBOX_LOST_SECONDS = 1
    ids = queued_batch(tenant)

    accepted, counts = send_through(tenant, lambda: outbox_batch_send.delay(message_ids=ids))

    assert counts["recovered"] > 0
    assert_each_sent_once_or_failed_interrupted(tenant, accepted)


@committed
def test_a_database_restart_mid_batch_loses_nothing_and_sends_nothing_twice(
    committed_tenant, settings
):
    tenant = committed_tenant.tenant
    fund(tenant, MESSAGES)
    settings.SMS_OUTBOX_LOST_SECONDS = 1
    ids = queued_batch(tenant)

    accepted, counts = send_through(
        tenant,
        lambda: outbox_batch_send.delay(message_ids=ids),
        disrupt=cut_the_database_connections,
    )

    assert counts["recovered"] > 0  # the batch's claim ended with its task, not its lease
    assert_each_sent_once_or_failed_interrupted(tenant, accepted)


@committed
def test_a_worker_killed_mid_campaign_loses_nothing_and_sends_nothing_twice(
    committed_tenant, settings
):
    tenant = committed_tenant.tenant
    fund(tenant, MESSAGES)
    settings.SMS_OUTBOX_LOST_SECONDS = 1
    make_contacts(tenant, MESSAGES, tags=["promo"])
    with tenant_context(tenant):
        campaign = campaign_create(
            tenant=tenant,
            data={
                "name": "Kill",
                "message_text": "Ofa!",
                "target_criteria": {"tags": ["promo"]},
            },
        )
    accepted, _ = send_through(tenant, lambda: campaign_start(campaign=campaign, tenant=tenant))

    assert len(accepted) == len(set(accepted)), "a message reached the provider twice"
    with tenant_context(tenant):
        campaign = campaign_counters_refresh(campaign=Campaign.objects.get(pk=campaign.pk))
        messages = Message.objects.filter(send_request_id=campaign.send_request_id)
        sent = {str(pk) for pk in messages.filter(status="sent").values_list("id", flat=True)}
        failed = messages.filter(status="failed")
        assert set(failed.values_list("error_code", flat=True)) <= {outbox.SEND_INTERRUPTED}
        assert messages.values("contact_id").distinct().count() == MESSAGES  # each contact once
        failed_count = failed.count()
    assert sent <= set(accepted)
    assert failed_count <= CHUNK  # at most the chunk in flight when it died
    assert campaign.status == "completed"
    assert (campaign.sent_count, campaign.failed_count) == (len(sent), failed_count)
    assert campaign.sent_count + campaign.failed_count == MESSAGES
    assert balance_of(tenant) == failed_count  # what failed was refunded, to the credit


@committed
def test_a_worker_killed_with_a_hundred_requests_in_flight_fails_and_refunds_them_once(
    committed_tenant, settings
):
    tenant = committed_tenant.tenant
    in_flight, messages = 100, 300
    settings.SMS_OUTBOX_LOST_SECONDS = 1
    ids = queued_batch(tenant, messages, personalised=True)  # their credits taken (balance 0)

    accepted, counts = send_through(
        tenant,
        lambda: outbox_batch_send.delay(message_ids=ids),
        ready=lambda beem: beem.in_flight >= in_flight,
        latency=2.0,
        overrides={
            # One worker holding 100 requests at once, the batch handed over whole.
            "SMS_PROVIDER_MAX_IN_FLIGHT": str(in_flight),
            "SMS_SEND_CONCURRENCY": "1",
            "SMS_PROVIDER_CHUNK_SIZE": str(messages),
        },
    )

    assert len(accepted) == len(set(accepted)), "a message reached the provider twice"
    final = statuses(tenant)
    with tenant_context(tenant):
        sent = {
            str(pk) for pk in Message.objects.filter(status="sent").values_list("id", flat=True)
        }
        failed = Message.objects.filter(status="failed")
        assert set(failed.values_list("error_code", flat=True)) == {outbox.SEND_INTERRUPTED}
    assert sent <= set(accepted)
    # The batch was handed over whole: its outcome unknown, every message of it failed, none
    # resent, though Beem took those it had in hand when the worker died.
    assert (final.get("failed", 0), counts["interrupted"]) == (messages, messages)
    assert balance_of(tenant) == messages  # each refunded once


@committed
def test_a_worker_killed_mid_drain_loses_no_small_send_and_sends_none_twice(
    committed_tenant, settings
):
    """One-recipient sends drained together, the worker killed with them in Beem's hands;
    five more sends made while the dead drain's key still stands (so no drain starts for
    them). The sweep fails what was handed over and queues the rest: every send ends sent or
    failed and refunded, none reaches Beem twice."""
    tenant = committed_tenant.tenant
    settings.SMS_OUTBOX_LOST_SECONDS = 1
    fund(tenant, 100)
    before, after = [new_phone() for _ in range(40)], [new_phone() for _ in range(5)]

    def small_sends(phones: list[str]) -> None:
        with tenant_context(tenant):
            for phone in phones:  # each commits, and its ids join the ready list
                text = f"Your code is {phone[-6:]}"  # a request of its own at Beem
                send_to_numbers(
                    tenant=tenant, data=SendInput(recipients=[phone], sender="Mifumo", text=text)
                )

    def kill_then_send_more(workers: list, beem: FakeBeem) -> None:
        kill_the_worker(workers, beem)
        small_sends(after)

    accepted, counts = send_through(
        tenant,
        lambda: small_sends(before),
        kill_then_send_more,
        ready=lambda beem: beem.in_flight >= 10,
        latency=2.0,
        overrides={"SMS_PROVIDER_MAX_IN_FLIGHT": "16", "SMS_SEND_CONCURRENCY": "1"},
    )

    assert len(accepted) == len(set(accepted)), "a message reached the provider twice"
    with tenant_context(tenant):
        messages = Message.objects.all()
        sent = set(messages.filter(status="sent").values_list("recipient", flat=True))
        failed = messages.filter(status="failed")
        assert set(failed.values_list("error_code", flat=True)) <= {outbox.SEND_INTERRUPTED}
        assert set(failed.values_list("recipient", flat=True)) <= set(before)
        assert messages.count() == len(before) + len(after)
        failed_count = failed.count()
    assert set(after) <= sent  # made after the kill: queued again by the sweep and sent
    assert counts["interrupted"] == failed_count >= 10
    assert balance_of(tenant) == 100 - len(before) - len(after) + failed_count
