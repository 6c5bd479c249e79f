"""Plans paid by card through Stripe (its fake): a subscription-mode Checkout Session starts a
Stripe subscription, and its events to /webhooks/stripe/ move ours only as far as Stripe's own
answer about the subscription and its invoices says, each period's credits granted once."""

import itertools
import json
import time
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import (
    CreditLedgerEntry,
    CreditLot,
    Invoice,
    PaymentTransaction,
    Plan,
    Subscription,
)
from billing.payments.providers.stripe import (
    StripeProvider,
    invoice_parse,
    subscription_parse,
)
from billing.selectors import credit_balance_get
from tests.concurrency import at_once
from tests.conftest import client_for, committed
from tests.envelope import assert_error, ok_data
from tests.fakes.stripe import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    event_json,
    period_end,
    sign,
)
from webhooks.models import StripeEvent

Status = Subscription.Status
WEBHOOK = "/webhooks/stripe/"
CREATE = "/api/billing/subscription/create/"
STATE = "/api/billing/subscription/"
OUR_ID = "0b8e2c6a-4a8e-4a44-9a55-3d1f0c6f1a01"


@pytest.fixture
def stripe_fake(settings):
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = SECRET_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.url
        settings.FRONTEND_URL = "https://app.example.com"
        yield fake


def checkout_start(subscription_id: str = OUR_ID, **changes):
    arguments = {
        "subscription_id": subscription_id,
        "plan_name": "Business",
        "amount": Decimal("50000"),
        "currency": "TZS",
        "interval": "month",
        "customer_email": "owner@example.com",
        **changes,
    }
    return StripeProvider().subscription_checkout_start(**arguments)


def moment(timestamp: int) -> datetime:
    return datetime.fromtimestamp(timestamp, tz=UTC)


def test_a_subscription_checkout_asks_stripe_for_a_recurring_price(stripe_fake):
    started = checkout_start()

    sent = stripe_fake.requests[0].form()
    assert stripe_fake.requests[0].path == "/v1/checkout/sessions"
    assert sent["mode"] == "subscription"
    assert sent["line_items[0][price_data][currency]"] == "tzs"
    assert sent["line_items[0][price_data][unit_amount]"] == "5000000"
    assert sent["line_items[0][price_data][recurring][interval]"] == "month"
    assert sent["line_items[0][price_data][product_data][name]"] == "Mifumo Business"
    assert sent["metadata[subscription_id]"] == OUR_ID
    assert sent["subscription_data[metadata][subscription_id]"] == OUR_ID
    assert sent["client_reference_id"] == OUR_ID
    assert sent["customer_email"] == "owner@example.com"
    assert sent["success_url"].startswith("https://app.example.com/")
    assert started.accepted
    assert started.payment_url == stripe_fake.sessions[started.provider_reference]["url"]

    # A retried start gets the same session back; another attempt gets a new one.
    assert checkout_start().provider_reference == started.provider_reference
    assert checkout_start(attempt=2).provider_reference != started.provider_reference
    yearly = checkout_start("0b8e2c6a-4a8e-4a44-9a55-3d1f0c6f1a02", interval="year")
    assert stripe_fake.requests[-1].form()["line_items[0][price_data][recurring][interval]"] == (
        "year"
    )
    assert yearly.accepted


def test_a_subscription_checkout_that_stripe_refuses_says_why(stripe_fake, settings):
    stripe_fake.fail_next(status=500)
    failed = checkout_start()
    assert (failed.accepted, failed.transient) == (False, True)
    assert "HTTP 500" in failed.error

    assert checkout_start(interval="week").accepted is False
    settings.STRIPE_SECRET_KEY = ""
    assert checkout_start().accepted is False


def test_a_completed_checkout_gives_a_subscription_and_its_paid_invoice(stripe_fake):
    started = checkout_start()
    provider = StripeProvider()
    assert provider.checkout_subscription_id(started.provider_reference) is None  # still open

    stripe_fake.complete(started.provider_reference)

    stripe_id = provider.checkout_subscription_id(started.provider_reference)
    subscription = provider.subscription_retrieve(stripe_id)
    item = stripe_fake.subscriptions[stripe_id]["items"]["data"][0]
    assert subscription is not None
    assert subscription.id == stripe_id
    assert subscription.customer.startswith("cus_test_")
    assert subscription.status == "active"
    assert subscription.subscription_id == OUR_ID
    assert subscription.cancel_at_period_end is False
    assert subscription.current_period_start == moment(item["current_period_start"])
    assert subscription.current_period_end == moment(item["current_period_end"])
    assert subscription.current_period_end.tzinfo is not None

    invoice = provider.invoice_retrieve(stripe_fake.subscriptions[stripe_id]["latest_invoice"])
    assert invoice is not None
    assert invoice.status == "paid"
    assert invoice.amount_paid == Decimal("50000")
    assert invoice.currency == "TZS"
    assert invoice.subscription == stripe_id
    assert (invoice.period_start, invoice.period_end) == (
        subscription.current_period_start,
        subscription.current_period_end,
    )


def test_renewals_bill_the_next_period_paid_or_not(stripe_fake):
    started = checkout_start()
    stripe_fake.complete(started.provider_reference)
    stripe_id = stripe_fake.sessions[started.provider_reference]["subscription"]
    provider = StripeProvider()
    first = provider.subscription_retrieve(stripe_id)

    renewed = provider.invoice_retrieve(stripe_fake.renew(stripe_id))
    assert renewed is not None and renewed.status == "paid"
    assert renewed.period_start == first.current_period_end

    failed = provider.invoice_retrieve(stripe_fake.fail_renewal(stripe_id))
    assert failed is not None
    assert (failed.status, failed.amount_paid) == ("open", Decimal("0"))
    assert failed.period_start == renewed.period_end
    assert provider.subscription_retrieve(stripe_id).status == "past_due"

    stripe_fake.delete_subscription(stripe_id)
    assert provider.subscription_retrieve(stripe_id).status == "canceled"


def test_a_subscription_is_canceled_at_its_period_end_on_request(stripe_fake):
    started = checkout_start()
    stripe_fake.complete(started.provider_reference)
    stripe_id = stripe_fake.sessions[started.provider_reference]["subscription"]
    provider = StripeProvider()

    assert provider.subscription_cancel_at_period_end(stripe_id) is True

    assert stripe_fake.requests[-1].method == "POST"
    assert stripe_fake.requests[-1].form() == {"cancel_at_period_end": "true"}
    subscription = provider.subscription_retrieve(stripe_id)
    assert (subscription.status, subscription.cancel_at_period_end) == ("active", True)

    stripe_fake.delete_subscription(stripe_id)
    assert provider.subscription_cancel_at_period_end(stripe_id) is False
    assert provider.subscription_cancel_at_period_end("sub_test_unknown") is False


def test_what_stripe_does_not_know_is_none(stripe_fake):
    provider = StripeProvider()

    assert provider.subscription_retrieve("sub_test_unknown") is None
    assert provider.invoice_retrieve("in_test_unknown") is None
    assert provider.checkout_subscription_id("cs_test_unknown") is None


def test_older_api_versions_are_read_too():
    """Before 2025-03-31 the period was on the subscription and an invoice named its
    subscription at the top."""
    subscription = subscription_parse(
        {
            "id": "sub_1",
            "status": "active",
            "customer": {"id": "cus_1", "object": "customer"},
            "current_period_start": 1_700_000_000,
            "current_period_end": 1_702_592_000,
            "items": {"data": [{"id": "si_1"}]},
            "metadata": {},
        }
    )
    invoice = invoice_parse(
        {
            "id": "in_1",
            "status": "paid",
            "amount_paid": 1250,
            "currency": "usd",
            "subscription": "sub_1",
            "lines": {"data": [{"period": {"start": 1_700_000_000, "end": 1_702_592_000}}]},
        }
    )

    assert subscription is not None and invoice is not None
    assert subscription.customer == "cus_1"
    assert subscription.subscription_id == ""
    assert subscription.current_period_start == moment(1_700_000_000)
    assert subscription.current_period_end == moment(1_702_592_000)
    assert invoice.subscription == "sub_1"
    assert invoice.amount_paid == Decimal("12.50")
    assert invoice.period_end == moment(1_702_592_000)
    assert (
        invoice_parse({"id": "in_2", "status": "paid", "amount_paid": 1, "currency": "eur"}) is None
    )
    assert subscription_parse({"id": "sub_2"}) is None


def test_an_event_about_a_subscription_session_names_no_order(stripe_fake):
    started = checkout_start()
    stripe_fake.complete(started.provider_reference)
    provider = StripeProvider()

    event = json.loads(stripe_fake.event(started.provider_reference))

    assert event["data"]["object"]["client_reference_id"] == OUR_ID
    assert provider.callback_parse(event) is None


def test_the_fake_bills_by_the_calendar():
    january_31 = int(datetime(2026, 1, 31, 12, tzinfo=UTC).timestamp())
    assert moment(period_end(january_31, "month")) == datetime(2026, 2, 28, 12, tzinfo=UTC)
    assert moment(period_end(january_31, "year")) == datetime(2027, 1, 31, 12, tzinfo=UTC)
    assert event_json("invoice.paid", {"id": "in_1"})


# --- Our subscriptions, moved by Stripe's events


@pytest.fixture
def business(db) -> Plan:
    return business_plan()


def business_plan() -> Plan:
    # Made directly: seeding the catalogue sets every tenant's user limit.
    return Plan.objects.create(
        code="business",
        name="Business",
        price_monthly=Decimal("90000"),
        price_yearly=Decimal("900000"),
        currency="TZS",
        messages_per_month=5_000,
        users=10,
    )


def subscribe_by_card(api, fake: FakeStripe, member, plan: Plan) -> tuple[Subscription, str]:
    """Ours, incomplete, and the Checkout Session that pays it, started as the dashboard does."""
    body = {"plan_id": str(plan.pk), "billing_cycle": "monthly", "payment_method": "card"}
    data = ok_data(api(member).post(CREATE, body, format="json"), 201)
    subscription = Subscription.objects.get(pk=data["subscription"]["id"])
    ours = str(subscription.pk)
    session = next(s for s in fake.sessions.values() if s["client_reference_id"] == ours)
    assert data["payment_url"] == session["url"]
    assert data["payment"] is None
    return subscription, session["id"]


def paid_by_card(api, fake: FakeStripe, member, plan: Plan) -> tuple[Subscription, dict[str, str]]:
    """Ours once its checkout is paid in Stripe, with the events Stripe then sends."""
    subscription, session_id = subscribe_by_card(api, fake, member, plan)
    fake.complete(session_id)
    stripe_id = fake.sessions[session_id]["subscription"]
    invoice_id = fake.subscriptions[stripe_id]["latest_invoice"]
    events = {
        "checkout": fake.event(session_id),
        "created": fake.event(stripe_id, "customer.subscription.created"),
        "paid": fake.event(invoice_id, "invoice.payment_succeeded"),
    }
    return subscription, events


def object_id(event: str) -> str:
    return str(json.loads(event)["data"]["object"]["id"])


def post_event(client, payload: str, signature: str | None = None):
    return client.post(
        WEBHOOK,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload) if signature is None else signature,
    )


def deliver(client, on_commit, *events: str) -> None:
    """Each event delivered twice, as Stripe retries: stored once, applied once."""
    for event in events:
        for _ in range(2):
            with on_commit():
                ok_data(post_event(client, event))


def balance_of(tenant) -> int:
    return credit_balance_get(tenant_id=tenant.pk).credits


def period_of(fake: FakeStripe, stripe_id: str) -> tuple[datetime, datetime]:
    item = fake.subscriptions[stripe_id]["items"]["data"][0]
    return moment(item["current_period_start"]), moment(item["current_period_end"])


def test_a_card_subscription_starts_at_a_stripe_checkout(
    api, client, a, business, stripe_fake, on_commit
):
    subscription, session_id = subscribe_by_card(api, stripe_fake, a.owner, business)

    sent = stripe_fake.requests[0].form()
    assert sent["mode"] == "subscription"
    assert sent["line_items[0][price_data][unit_amount]"] == "9000000"
    assert sent["line_items[0][price_data][recurring][interval]"] == "month"
    assert sent["subscription_data[metadata][subscription_id]"] == str(subscription.pk)
    assert subscription.status == Status.INCOMPLETE

    # Told of a session still open, nothing moves: Stripe's session has no subscription yet.
    deliver(client, on_commit, stripe_fake.event(session_id))
    subscription.refresh_from_db()
    assert (subscription.status, subscription.stripe_subscription_id) == (Status.INCOMPLETE, "")
    assert StripeEvent.objects.get().state == StripeEvent.State.UNMATCHED
    assert balance_of(a.tenant) == 0


@pytest.mark.parametrize("order", list(itertools.permutations(["checkout", "created", "paid"])))
def test_a_paid_checkout_activates_once_whatever_order_the_events_come_in(
    order, api, client, a, b, business, stripe_fake, on_commit
):
    subscription, events = paid_by_card(api, stripe_fake, a.owner, business)
    stripe_id = object_id(events["created"])

    deliver(client, on_commit, *(events[name] for name in order))

    subscription.refresh_from_db()
    start, end = period_of(stripe_fake, stripe_id)
    assert subscription.status == Status.ACTIVE
    assert subscription.stripe_subscription_id == stripe_id
    assert subscription.stripe_customer_id.startswith("cus_test_")
    assert (subscription.current_period_start, subscription.current_period_end) == (start, end)
    assert balance_of(a.tenant) == 5_000
    payment = PaymentTransaction.objects.get(subscription=subscription)
    assert payment.status == PaymentTransaction.Status.COMPLETED
    assert (payment.paid_amount, payment.period_start, payment.period_end) == (
        Decimal("90000"),
        start,
        end,
    )
    assert Invoice.objects.filter(payment__subscription=subscription).count() == 1
    assert CreditLot.objects.get(payment=payment).expires_at == end
    assert StripeEvent.objects.count() == 3
    assert set(StripeEvent.objects.values_list("state", flat=True)) == {StripeEvent.State.APPLIED}


def test_each_renewal_grants_its_period_once(api, client, a, business, stripe_fake, on_commit):
    subscription, events = paid_by_card(api, stripe_fake, a.owner, business)
    deliver(client, on_commit, *events.values())
    stripe_id = object_id(events["created"])

    invoice_id = stripe_fake.renew(stripe_id)
    deliver(
        client,
        on_commit,
        stripe_fake.event(stripe_id, "customer.subscription.updated"),
        stripe_fake.event(invoice_id, "invoice.payment_succeeded"),
        stripe_fake.event(invoice_id, "invoice.paid"),  # Stripe sends both for one invoice
    )

    subscription.refresh_from_db()
    start, end = period_of(stripe_fake, stripe_id)
    assert subscription.status == Status.ACTIVE
    assert (subscription.current_period_start, subscription.current_period_end) == (start, end)
    assert balance_of(a.tenant) == 10_000
    renewal = PaymentTransaction.objects.get(order_id=invoice_id)
    assert (renewal.subscription_id, renewal.period_start) == (subscription.pk, start)
    assert PaymentTransaction.objects.filter(subscription=subscription).count() == 2
    assert Invoice.objects.filter(payment__subscription=subscription).count() == 2


def test_a_failed_renewal_is_past_due_and_grants_nothing(
    api, client, a, business, stripe_fake, on_commit
):
    subscription, events = paid_by_card(api, stripe_fake, a.owner, business)
    deliver(client, on_commit, *events.values())
    stripe_id = object_id(events["created"])

    invoice_id = stripe_fake.fail_renewal(stripe_id)
    deliver(client, on_commit, stripe_fake.event(invoice_id, "invoice.payment_failed"))

    subscription.refresh_from_db()
    assert subscription.status == Status.PAST_DUE
    assert balance_of(a.tenant) == 5_000

    # A signed event that calls the open invoice paid: Stripe's invoice says open.
    claimed = json.loads(stripe_fake.event(invoice_id, "invoice.payment_succeeded"))
    claimed["data"]["object"].update(status="paid", amount_paid=9_000_000)
    deliver(client, on_commit, json.dumps(claimed))

    assert balance_of(a.tenant) == 5_000
    assert not PaymentTransaction.objects.filter(order_id=invoice_id).exists()
    subscription.refresh_from_db()
    assert subscription.status == Status.PAST_DUE


def test_a_deleted_stripe_subscription_cancels_ours(
    api, client, a, business, stripe_fake, on_commit
):
    subscription, events = paid_by_card(api, stripe_fake, a.owner, business)
    deliver(client, on_commit, *events.values())
    stripe_id = object_id(events["created"])

    stripe_fake.delete_subscription(stripe_id)
    deliver(client, on_commit, stripe_fake.event(stripe_id, "customer.subscription.deleted"))

    subscription.refresh_from_db()
    assert subscription.status == Status.CANCELED
    assert subscription.ended_at is not None
    assert balance_of(a.tenant) == 5_000  # the period paid keeps its credits


def test_canceling_asks_stripe_to_end_it_with_its_period(
    api, client, a, business, stripe_fake, on_commit
):
    subscription, events = paid_by_card(api, stripe_fake, a.owner, business)
    deliver(client, on_commit, *events.values())
    stripe_id = object_id(events["created"])

    data = ok_data(api(a.owner).post("/api/billing/subscription/cancel/"))

    assert stripe_fake.subscriptions[stripe_id]["cancel_at_period_end"] is True
    assert (data["status"], data["cancel_at_period_end"]) == (Status.ACTIVE, True)
    deliver(client, on_commit, stripe_fake.event(stripe_id, "customer.subscription.updated"))
    subscription.refresh_from_db()
    assert (subscription.status, subscription.cancel_at_period_end) == (Status.ACTIVE, True)

    stripe_fake.delete_subscription(stripe_id)  # the period ended
    deliver(client, on_commit, stripe_fake.event(stripe_id, "customer.subscription.deleted"))
    subscription.refresh_from_db()
    assert subscription.status == Status.CANCELED


def test_a_forged_event_grants_nothing(api, client, a, business, stripe_fake, on_commit):
    subscription, events = paid_by_card(api, stripe_fake, a.owner, business)

    with on_commit():
        forged = [post_event(client, e, sign(e, "whsec_guessed")) for e in events.values()]
        stale = post_event(
            client, events["paid"], sign(events["paid"], timestamp=int(time.time()) - 301)
        )

    for response in [*forged, stale]:
        assert_error(response, 400, "INVALID_SIGNATURE")
    assert StripeEvent.objects.count() == 0
    subscription.refresh_from_db()
    assert subscription.status == Status.INCOMPLETE
    assert balance_of(a.tenant) == 0


def test_an_event_cannot_move_another_tenants_subscription(
    api, client, a, b, business, stripe_fake, on_commit
):
    ours, events = paid_by_card(api, stripe_fake, a.owner, business)
    deliver(client, on_commit, *events.values())
    our_stripe_id = object_id(events["created"])
    theirs, their_events = paid_by_card(api, stripe_fake, b.owner, business)
    their_stripe_id = object_id(their_events["created"])

    # Signed events whose bodies name the other tenant's subscription in their metadata (and
    # call ours canceled): Stripe's answer about each subscription decides.
    stripe_fake.delete_subscription(their_stripe_id)
    claims = []
    for stripe_id, named in ((their_stripe_id, ours), (our_stripe_id, theirs)):
        body = json.loads(stripe_fake.event(stripe_id, "customer.subscription.deleted"))
        body["data"]["object"].update(
            status="canceled", metadata={"subscription_id": str(named.pk)}
        )
        claims.append(json.dumps(body))
    deliver(client, on_commit, *claims)

    ours.refresh_from_db()
    theirs.refresh_from_db()
    assert (ours.status, ours.stripe_subscription_id) == (Status.ACTIVE, our_stripe_id)
    assert (theirs.status, theirs.stripe_subscription_id) == (Status.CANCELED, their_stripe_id)
    assert balance_of(a.tenant) == 5_000
    assert balance_of(b.tenant) == 0
    assert (
        not PaymentTransaction.objects.filter(tenant=a.tenant).exclude(subscription=ours).exists()
    )


def test_an_event_about_no_subscription_of_ours_is_unmatched(client, db, stripe_fake, on_commit):
    events = [
        event_json("customer.subscription.created", {"id": "sub_test_1", "object": "subscription"}),
        event_json("invoice.payment_succeeded", {"id": "in_test_1", "object": "invoice"}),
        event_json("invoice.payment_failed", {"object": "invoice"}),
        event_json("customer.created", {"id": "cus_test_1", "object": "customer"}),
    ]

    deliver(client, on_commit, *events)

    assert list(StripeEvent.objects.order_by("id").values_list("state", flat=True)) == [
        StripeEvent.State.UNMATCHED,
        StripeEvent.State.UNMATCHED,
        StripeEvent.State.UNMATCHED,
        StripeEvent.State.IGNORED,
    ]


@committed
def test_events_delivered_20_times_in_parallel_grant_the_period_once(committed_tenant, stripe_fake):
    plan = business_plan()
    payloads: list[str] = []
    workers = 20

    def deliver_one(index: int) -> int:
        payload = payloads[index % len(payloads)]
        response = Client().post(
            WEBHOOK, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=sign(payload)
        )
        return response.status_code

    try:
        subscription, events = paid_by_card(client_for, stripe_fake, committed_tenant.owner, plan)
        events["invoice.paid"] = stripe_fake.event(object_id(events["paid"]), "invoice.paid")
        payloads.extend(events.values())

        answers = at_once(deliver_one, workers)

        assert answers == [200] * workers
        subscription.refresh_from_db()
        assert subscription.status == Status.ACTIVE
        assert balance_of(committed_tenant.tenant) == 5_000
        payment = PaymentTransaction.objects.get(subscription=subscription)
        assert list(payment.credit_entries.values_list("credits", flat=True)) == [5_000]
        assert Invoice.objects.filter(payment=payment).count() == 1
    finally:
        StripeEvent.objects.filter(event_id__in=[json.loads(p)["id"] for p in payloads]).delete()
        payments = PaymentTransaction.objects.filter(tenant=committed_tenant.tenant)
        Invoice.objects.filter(payment__in=payments).delete()
        CreditLot.objects.filter(payment__in=payments).delete()
        CreditLedgerEntry.objects.filter(payment__in=payments).delete()
        payments.delete()
        Subscription.objects.filter(tenant=committed_tenant.tenant).delete()
        plan.delete()
