"""The outbox against the fake Beem server: one request per text, retries with
backoff, failures refunded, the sender's rate, the tenant's share, the hand-overs that keep a
crash from sending anything twice, and the outbox sweep."""

import datetime as dt
import importlib
import threading
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import tenant_context

from billing.models import CreditLedgerEntry
from messaging import outbox
from messaging.models import HandOver, Message
from messaging.services import messages
from messaging.services.contacts import contact_opt_out
from messaging.services.messages import SendInput, send_to_numbers
from mifumo.principals import shared_key
from sms.leases import claim_lease
from sms.models import CallbackRoute
from sms.throttle import tenant_send_slot
from tests.envelope import ok_data
from tests.fakes.beem import API_KEY, SECRET_KEY, FakeBeem
from tests.fakes.server import CallbackSink
from tests.fakes.twilio import ACCOUNT_SID as TWILIO_SID
from tests.fakes.twilio import AUTH_TOKEN as TWILIO_TOKEN
from tests.fakes.twilio import FakeTwilio
from tests.messaging.helpers import make_contact, new_phone, queued_messages
from tests.sms.helpers import SEND, balance_of, fund
from webhooks.services import status_events_process


@pytest.fixture
def beem(settings):
    with FakeBeem() as fake:
        settings.SMS_PROVIDER = "beem"
        settings.BEEM_SEND_URL = fake.send_url
        settings.BEEM_BALANCE_URL = fake.balance_url
        settings.BEEM_API_KEY = API_KEY
        settings.BEEM_SECRET_KEY = SECRET_KEY
        settings.BEEM_TIMEOUT_SECONDS = 0.5
        settings.SMS_RETRY_DELAYS = [0.0, 0.0]
        yield fake


def send(api, a, on_commit, recipients, text="Habari"):
    with on_commit():
        response = api(a.owner).post(
            SEND, {"message": text, "recipients": recipients}, format="json"
        )
    return ok_data(response, 201)


def messages_of(tenant):
    with tenant_context(tenant):
        return list(Message.objects.order_by("recipient"))


def test_identical_texts_go_out_as_one_request_and_are_routed_for_callbacks(
    api, a, on_commit, beem
):
    fund(a.tenant, 10)
    phones = [new_phone() for _ in range(3)]

    send(api, a, on_commit, phones)

    assert len(beem.requests) == 1
    assert sorted(sms.to for sms in beem.accepted) == sorted(p[1:] for p in phones)
    messages = messages_of(a.tenant)
    assert {m.status for m in messages} == {"sent"}
    assert {m.provider for m in messages} == {"beem"}
    (request_id,) = {m.provider_message_id for m in messages}
    assert {sms.reference for sms in beem.accepted} == {str(m.id) for m in messages}
    route = CallbackRoute.objects.get(provider="beem", provider_message_id=request_id)
    assert route.schema_name == a.tenant.schema_name


def test_a_transient_error_is_retried_and_sent_once(api, a, on_commit, beem):
    fund(a.tenant, 10)
    beem.fail_next(1, status=500)
    phone = new_phone()

    send(api, a, on_commit, [phone])

    (message,) = messages_of(a.tenant)
    assert (message.status, message.attempts) == ("sent", 2)
    assert [sms.to for sms in beem.accepted] == [phone[1:]]
    assert balance_of(a.tenant) == 9


def test_a_timeout_is_transient_too(api, a, on_commit, beem):
    fund(a.tenant, 10)
    beem.timeout_next(1)

    send(api, a, on_commit, [new_phone()])

    (message,) = messages_of(a.tenant)
    assert (message.status, message.attempts) == ("sent", 2)


def test_three_transient_errors_fail_the_message_and_refund_it(api, a, on_commit, beem):
    fund(a.tenant, 10)
    beem.fail_next(3, status=503)

    sent = send(api, a, on_commit, [new_phone(), new_phone()])

    messages = messages_of(a.tenant)
    assert {(m.status, m.attempts, m.error_code) for m in messages} == {
        ("failed", 3, "BEEM_HTTP_503")
    }
    assert all(m.failed_at for m in messages)
    assert beem.accepted == []
    assert balance_of(a.tenant) == 10
    refund = CreditLedgerEntry.objects.get(tenant=a.tenant, kind="refund")
    assert (refund.credits, refund.reference) == (2, sent["message_id"])


def test_a_permanent_error_fails_at_once_and_refunds(api, a, on_commit, beem):
    fund(a.tenant, 10)
    beem.fail_next(1, status=200, code=106)

    send(api, a, on_commit, [new_phone()])

    (message,) = messages_of(a.tenant)
    assert (message.status, message.attempts, message.error_code) == ("failed", 1, "BEEM_106")
    assert balance_of(a.tenant) == 10


def test_a_batch_claimed_twice_is_sent_once(a, beem):
    ids = queued_messages(a.tenant, 3)

    with tenant_context(a.tenant):
        assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids) == 3
        assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids) == 0

    assert len(beem.accepted) == 3


def test_the_sender_rate_holds_back_what_it_does_not_allow(a, beem, settings):
    settings.SMS_PROVIDER_CHUNK_SIZE = 2
    settings.SMS_SENDER_RATE_LIMITS = {"Taarifa-SMS": 1}
    settings.SMS_THROTTLE_MAX_SLEEP_SECONDS = 0
    get_redis_connection("default").delete(shared_key("sms", "sender-rate", "Taarifa-SMS"))
    ids = queued_messages(a.tenant, 6)

    with tenant_context(a.tenant):
        outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids)
        statuses = sorted(Message.objects.values_list("status", "attempts"))

    # A 1-second burst at 1 segment/s lets the first chunk of 2 through, then holds the rest.
    assert len(beem.accepted) == 2
    assert statuses == [("queued", 0)] * 4 + [("sent", 1)] * 2


def test_a_tenant_never_takes_more_than_its_share_of_send_slots(a, b, beem, settings):
    settings.SMS_SEND_CONCURRENCY = 4
    alone, shared = queued_messages(a.tenant, 2), queued_messages(a.tenant, 2)

    schema = a.tenant.schema_name
    with tenant_context(a.tenant):
        with (
            tenant_send_slot(schema) as first,
            tenant_send_slot(schema) as second,
            tenant_send_slot(schema) as third,
        ):
            assert (first, second, third) == (True, True, True)
            # Alone it takes every slot: the fourth batch runs.
            assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=alone) == 2
            with tenant_send_slot(b.tenant.schema_name) as other:
                assert other  # tenant B wants to send too: two slots each
            assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=shared) == 0
        assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=shared) == 2


def test_a_batch_waits_briefly_for_a_slot_its_tenant_frees(a, beem, settings):
    settings.SMS_SEND_CONCURRENCY = 1  # the tenant's one slot, alone
    ids = queued_messages(a.tenant, 2)
    taken, release = threading.Event(), threading.Event()

    def hold_the_slot():
        with tenant_send_slot(a.tenant.schema_name) as granted:
            assert granted
            taken.set()
            release.wait(5)

    holder = threading.Thread(target=hold_the_slot)
    holder.start()
    taken.wait(5)
    threading.Timer(0.1, release.set).start()
    with tenant_context(a.tenant):
        assert (
            outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids) == 2
        )  # not put back in the queue
    holder.join()


def test_a_large_send_refreshes_the_outbox_statistics_before_its_batches(
    a, beem, on_commit, monkeypatch
):
    monkeypatch.setattr(outbox, "_ANALYZE_FROM", 3)  # (10,000 in earnest)
    monkeypatch.setattr(messages, "DRAINED_MAX", 2)  # a send of 3 is released, not drained
    fund(a.tenant, 3)
    phones = [new_phone() for _ in range(3)]

    with tenant_context(a.tenant), on_commit():
        send_to_numbers(
            tenant=a.tenant, data=SendInput(recipients=phones, sender="Mifumo", text="Hi")
        )

    with tenant_context(a.tenant), connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = 'messaging_message'::regclass")
        assert cursor.fetchone()[0] == Message.objects.count()  # counted by ANALYZE
        assert Message.objects.filter(status="sent").count() == 3


def test_the_sweep_releases_due_scheduled_messages(a, beem):
    with tenant_context(a.tenant):
        due, later = queued_messages(a.tenant, 2)
        now = timezone.now()
        Message.objects.filter(pk=due).update(
            status="scheduled", scheduled_at=now - dt.timedelta(seconds=1)
        )
        Message.objects.filter(pk=later).update(
            status="scheduled", scheduled_at=now + dt.timedelta(hours=1)
        )

        counts = outbox.outbox_sweep(tenant=a.tenant)

        assert counts["released"] == 1
        assert Message.objects.get(pk=due).status == "queued"
        assert Message.objects.get(pk=later).status == "scheduled"


def test_the_sweep_recovers_what_a_crashed_worker_left(a, beem, settings):
    settings.SMS_OUTBOX_STALE_SECONDS = 60
    fund(a.tenant, 10)
    long_ago, dead_claim = timezone.now() - dt.timedelta(minutes=5), uuid.uuid4()
    with tenant_context(a.tenant):
        never_handed, handed, stuck = queued_messages(a.tenant, 3)
        Message.objects.filter(pk__in=[never_handed, handed]).update(
            status="sending", sending_at=long_ago, claim_id=dead_claim, attempts=1
        )
        HandOver.objects.create(claim_id=dead_claim, message_ids=[handed])
        Message.objects.filter(pk=stuck).update(queued_at=long_ago)

        counts = outbox.outbox_sweep(tenant=a.tenant)

        assert counts == {"released": 0, "recovered": 1, "interrupted": 1, "requeued": 1}
        recovered = Message.objects.get(pk=never_handed)
        assert (recovered.status, recovered.attempts) == ("queued", 0)
        failed = Message.objects.get(pk=handed)
        assert (failed.status, failed.error_code) == ("failed", outbox.SEND_INTERRUPTED)
        assert not HandOver.objects.exists()  # the dead claim's row went with it
    assert balance_of(a.tenant) == 11  # the interrupted message's credit came back
    assert connection.schema_name == "public"


def test_a_twilio_send_and_its_signed_callback_round_trip(api, a, on_commit, settings):
    """The fake Twilio posts its signed status callback to PUBLIC_BASE_URL (a sink here); the
    same request replayed to our route is verified and applied."""
    with CallbackSink() as sink, FakeTwilio() as twilio:
        settings.SMS_PROVIDER = "twilio"
        settings.TWILIO_ACCOUNT_SID = TWILIO_SID
        settings.TWILIO_AUTH_TOKEN = TWILIO_TOKEN
        settings.TWILIO_API_BASE_URL = twilio.url
        settings.PUBLIC_BASE_URL = sink.url
        fund(a.tenant, 10)
        phone = new_phone()

        send(api, a, on_commit, [phone])
        assert twilio.wait_for_callbacks()

    (message,) = messages_of(a.tenant)
    assert (message.status, message.provider) == ("sent", "twilio")
    assert message.provider_message_id.startswith("SM")
    (callback,) = sink.requests
    assert callback.query == {"schema": a.tenant.schema_name}
    signature = callback.headers["X-Twilio-Signature"]
    with on_commit():
        response = api().post(callback.target, callback.form(), HTTP_X_TWILIO_SIGNATURE=signature)
    assert response.status_code == 200, response.content
    status_events_process()
    assert messages_of(a.tenant)[0].status == "delivered"


def test_a_provider_that_cannot_be_built_fails_and_refunds_at_once(a, beem):
    """An operator's mistake (a provider name the registry lacks) never loops in the sweep."""
    fund(a.tenant, 5)
    ids = queued_messages(a.tenant, 2)
    a.tenant.settings = {"sms_provider": "nonsense"}

    with tenant_context(a.tenant):
        assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids) == 2
        failed = list(Message.objects.filter(pk__in=ids).values_list("status", "error_code"))

    assert failed == [("failed", outbox.PROVIDER_UNAVAILABLE)] * 2
    assert balance_of(a.tenant) == 7  # both credits back
    assert beem.accepted == []


def test_the_sweep_takes_back_a_lapsed_claim_at_once_and_leaves_a_live_one(a, beem):
    live, lapsed = str(uuid.uuid4()), str(uuid.uuid4())
    with tenant_context(a.tenant):
        held, dropped = queued_messages(a.tenant, 2)
        now = timezone.now()
        Message.objects.filter(pk=held).update(status="sending", sending_at=now, claim_id=live)
        Message.objects.filter(pk=dropped).update(
            status="sending", sending_at=now, claim_id=lapsed, attempts=1
        )

        with claim_lease(live):
            counts = outbox.outbox_sweep(tenant=a.tenant)

        assert counts["recovered"] == 1
        assert Message.objects.get(pk=held).status == "sending"
        assert (Message.objects.get(pk=dropped).status, counts["interrupted"]) == ("queued", 0)


def test_a_message_whose_contact_opted_out_after_it_was_queued_is_failed_and_refunded(
    api, a, on_commit, beem
):
    fund(a.tenant, 10)
    stopped, staying = make_contact(a.tenant), make_contact(a.tenant)
    later = (timezone.now() + dt.timedelta(hours=1)).isoformat()
    with on_commit():
        response = api(a.owner).post(
            SEND,
            {
                "message": "Ofa ya wiki",
                "recipients": [stopped.phone_e164, staying.phone_e164],
                "scheduled_at": later,
            },
            format="json",
        )
    ok_data(response, 201)
    assert balance_of(a.tenant) == 8
    with tenant_context(a.tenant):
        contact_opt_out(contact=stopped, reason="keyword STOP")
        Message.objects.update(scheduled_at=timezone.now())

        with on_commit():
            outbox.outbox_sweep(tenant=a.tenant)

        by_phone = {m.recipient: m for m in Message.objects.all()}
    assert [sms.to for sms in beem.accepted] == [staying.phone_e164[1:]]
    assert by_phone[staying.phone_e164].status == "sent"
    message = by_phone[stopped.phone_e164]
    assert (message.status, message.error_code, message.attempts) == (
        "failed",
        "CONTACT_OPTED_OUT",
        1,
    )
    assert balance_of(a.tenant) == 9


def test_a_message_made_after_the_opt_out_goes_out(a, beem):
    """The STOP confirmation is made after the opt-out, on purpose: the claim lets it go."""
    (message_id,) = queued_messages(a.tenant, 1)
    with tenant_context(a.tenant):
        message = Message.objects.get(pk=message_id)
        contact = make_contact(a.tenant, phone_e164=message.recipient)
        contact_opt_out(contact=contact, reason="keyword STOP")
        Message.objects.filter(pk=message_id).update(created_at=timezone.now())

        assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=[message_id]) == 1

        assert Message.objects.get(pk=message_id).status == "sent"


def watch_the_provider(tenant, monkeypatch, then=None) -> list[list[tuple]]:
    """For each call to the tenant's provider, the hand-overs in the table as it was made;
    `then(outbound)` runs after the call, as a worker that dies there would."""
    with tenant_context(tenant):
        provider = outbox.provider_for(tenant)
    send_batch, seen = provider.send_batch, []

    def watched(outbound, context):
        seen.append(list(HandOver.objects.values_list("claim_id", "message_ids")))
        results = send_batch(outbound, context)
        if then:
            then(outbound)
        return results

    monkeypatch.setattr(provider, "send_batch", watched)
    return seen


class WorkerKilled(BaseException):
    """What a killed worker leaves: nothing after this point runs."""


def kill(*args):
    raise WorkerKilled


def test_a_hand_over_names_the_chunk_while_the_provider_has_it_and_goes_after(a, beem, monkeypatch):
    ids = queued_messages(a.tenant, 3)
    seen = watch_the_provider(a.tenant, monkeypatch)

    with tenant_context(a.tenant):
        outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids)
        messages = list(Message.objects.filter(pk__in=ids))
        assert not HandOver.objects.exists()

    ((call,),) = seen
    claim_id, handed = call
    assert {m.claim_id for m in messages} == {claim_id}
    assert sorted(map(str, handed)) == sorted(ids)
    assert {(m.status, m.provider) for m in messages} == {("sent", "beem")}


def test_a_claim_killed_after_its_hand_over_is_failed_refunded_once_and_never_resent(
    a, beem, monkeypatch
):
    fund(a.tenant, 10)
    ids = queued_messages(a.tenant, 3)  # reserved before: each refund adds its credit
    watch_the_provider(a.tenant, monkeypatch, then=kill)

    with tenant_context(a.tenant):
        with pytest.raises(WorkerKilled):
            outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids)
        first = outbox.outbox_sweep(tenant=a.tenant)
        second = outbox.outbox_sweep(tenant=a.tenant)
        assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids) == 0
        failed = set(Message.objects.values_list("status", "error_code", "provider"))
        assert not HandOver.objects.exists()

    assert (first["interrupted"], first["recovered"], second["interrupted"]) == (3, 0, 0)
    assert failed == {("failed", outbox.SEND_INTERRUPTED, "beem")}
    assert sorted(sms.reference for sms in beem.accepted) == sorted(ids)  # once each
    assert balance_of(a.tenant) == 13


def test_a_claim_killed_before_its_hand_over_is_queued_again_and_sent_once(a, beem, monkeypatch):
    ids = queued_messages(a.tenant, 3)
    seen = watch_the_provider(a.tenant, monkeypatch)
    with monkeypatch.context() as patch:
        patch.setattr(outbox, "_hand_over", kill)
        with tenant_context(a.tenant), pytest.raises(WorkerKilled):
            outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids)

    with tenant_context(a.tenant):
        counts = outbox.outbox_sweep(tenant=a.tenant)
        assert set(Message.objects.values_list("status", "attempts")) == {("queued", 0)}
        assert outbox.outbox_batch_send(tenant=a.tenant, message_ids=ids) == 3

    assert (counts["recovered"], counts["interrupted"]) == (3, 0)
    assert len(seen) == 1  # the provider was called once, by the second batch
    assert sorted(sms.reference for sms in beem.accepted) == sorted(ids)


def test_the_sweep_keeps_a_live_claims_hand_over_and_drops_a_dead_ones_leftover(a):
    live, dead = str(uuid.uuid4()), str(uuid.uuid4())
    with tenant_context(a.tenant):
        in_flight, recorded = queued_messages(a.tenant, 2)
        Message.objects.filter(pk=in_flight).update(status="sending", claim_id=live)
        Message.objects.filter(pk=recorded).update(status="sent", claim_id=dead)
        HandOver.objects.create(claim_id=live, message_ids=[in_flight])
        HandOver.objects.create(claim_id=dead, message_ids=[recorded])  # its DELETE never ran

        with claim_lease(live):
            counts = outbox.outbox_sweep(tenant=a.tenant)

        assert (counts["recovered"], counts["interrupted"]) == (0, 0)
        assert [str(c) for c in HandOver.objects.values_list("claim_id", flat=True)] == [live]
        assert Message.objects.get(pk=recorded).status == "sent"


def test_a_batch_in_flight_during_the_deploy_keeps_what_it_handed_over(a):
    """The migration that dropped Message.handed_at turns each claim's stamped messages into
    one hand-over row of that claim, so the sweep still fails rather than resends them."""
    conversion = importlib.import_module("messaging.migrations.0004_handover")
    dead, long_ago = uuid.uuid4(), timezone.now() - dt.timedelta(minutes=5)
    with tenant_context(a.tenant), connection.cursor() as cursor:
        cursor.execute("ALTER TABLE messaging_message ADD COLUMN handed_at timestamptz")
        handed, also_handed, not_handed, sent, claimless = queued_messages(a.tenant, 5)
        Message.objects.filter(pk__in=[handed, also_handed, not_handed]).update(
            status="sending", claim_id=dead
        )
        Message.objects.filter(pk=sent).update(status="sent", claim_id=dead)
        Message.objects.filter(pk=claimless).update(status="sending", sending_at=long_ago)
        cursor.execute(
            "UPDATE messaging_message SET handed_at = now() WHERE id = ANY(%s::uuid[])",
            [[handed, also_handed, sent, claimless]],
        )

        for statement in conversion.STAMPS_TO_HAND_OVERS:
            cursor.execute(statement)

        rows = {
            claim_id: sorted(map(str, message_ids))
            for claim_id, message_ids in HandOver.objects.values_list("claim_id", "message_ids")
        }
        claimless_claim = Message.objects.get(pk=claimless).claim_id
        assert rows == {dead: sorted([handed, also_handed]), claimless_claim: [claimless]}

        counts = outbox.outbox_sweep(tenant=a.tenant)
        statuses = dict(Message.objects.values_list("id", "status"))

    assert (counts["recovered"], counts["interrupted"]) == (1, 3)
    assert {str(pk): status for pk, status in statuses.items()} == {
        handed: "failed",
        also_handed: "failed",
        claimless: "failed",
        not_handed: "queued",
        sent: "sent",
    }
