"""Card payments through Stripe (its fake): a Checkout Session per order, and credits only once
Stripe's own answer about the session says it was paid, after a signed, fresh event to
/webhooks/stripe/ that is stored once by its id."""

import time
from decimal import Decimal

import pytest
from django.test import Client

from billing.models import CreditLedgerEntry, Invoice, PaymentTransaction, SmsPackage
from billing.payments.providers.stripe import minor_units
from billing.payments.services import Buyer, payment_initiate
from billing.selectors import credit_balance_get
from billing.services import sms_packages_seed
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, ok_data
from tests.fakes.stripe import (
    SECRET_KEY,
    WEBHOOK_SECRET,
    FakeStripe,
    event_json,
    sign,
    sign_rotating,
)
from webhooks.models import StripeEvent

Status = PaymentTransaction.Status
Kind = CreditLedgerEntry.Kind
PURCHASE = "/api/billing/sms/purchase/"
WEBHOOK = "/webhooks/stripe/"
PHONE = "+255712345678"


@pytest.fixture
def business(db) -> SmsPackage:
    sms_packages_seed()
    return SmsPackage.objects.get(name="Business")  # 5,000 SMS + 250 bonus for 110,000 TZS


@pytest.fixture
def stripe_fake(settings):
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = SECRET_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.url
        settings.FRONTEND_URL = "https://app.example.com"
        yield fake


def balance_of(tenant) -> int:
    return credit_balance_get(tenant_id=tenant.pk).credits


def buy_by_card(api, member, package) -> dict:
    body = {"package_id": str(package.pk), "payment_method": "card"}
    return ok_data(api(member).post(PURCHASE, body, format="json"), 201)


def post_event(client, payload: str, signature: str | None = None):
    return client.post(
        WEBHOOK,
        payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload) if signature is None else signature,
    )


def test_tzs_goes_to_stripe_in_hundredths():
    assert minor_units(Decimal("110000"), "TZS") == 11_000_000
    assert minor_units(Decimal("12.50"), "USD") == 1250


def test_a_card_purchase_completes_on_a_signed_event_once_stripe_says_paid(
    api, client, a, business, stripe_fake, on_commit
):
    data = buy_by_card(api, a.owner, business)

    create = stripe_fake.requests[0]
    sent = create.form()
    assert create.path == "/v1/checkout/sessions"
    assert sent["mode"] == "payment"
    assert sent["line_items[0][price_data][currency]"] == "tzs"
    assert sent["line_items[0][price_data][unit_amount]"] == "11000000"
    assert sent["line_items[0][quantity]"] == "1"
    assert sent["metadata[order_id]"] == sent["client_reference_id"] == data["order_id"]
    assert sent["success_url"].startswith("https://app.example.com/")
    assert sent["cancel_url"].startswith("https://app.example.com/")
    payment = PaymentTransaction.objects.get(pk=data["id"])
    session_id = payment.provider_reference
    assert payment.provider == "stripe"
    assert data["payment_url"] == stripe_fake.sessions[session_id]["url"]
    assert data["status"] == "pending"

    # An event that claims payment before Stripe's session says so grants nothing.
    with on_commit():
        ok_data(post_event(client, stripe_fake.event(session_id)))
    assert PaymentTransaction.objects.get(pk=data["id"]).status == Status.PENDING
    assert balance_of(a.tenant) == 0

    stripe_fake.complete(session_id)
    event = stripe_fake.event(session_id)
    with on_commit():
        ok_data(post_event(client, event))
    with on_commit():  # Stripe delivers it again later: stored once, credited once
        ok_data(post_event(client, event))

    assert stripe_fake.requests[-1].path == f"/v1/checkout/sessions/{session_id}"
    payment.refresh_from_db()
    assert payment.status == Status.COMPLETED
    assert payment.paid_amount == Decimal("110000")
    assert payment.provider_transid.startswith("pi_test_")
    assert balance_of(a.tenant) == 5250
    assert StripeEvent.objects.filter(state=StripeEvent.State.APPLIED).count() == 2


def test_forged_or_stale_events_are_refused_and_grant_nothing(
    api, client, a, business, stripe_fake, on_commit
):
    data = buy_by_card(api, a.owner, business)
    session_id = PaymentTransaction.objects.get(pk=data["id"]).provider_reference
    stripe_fake.complete(session_id)
    event = stripe_fake.event(session_id)

    with on_commit():
        forged = post_event(client, event, sign(event, "whsec_guessed"))
        stale = post_event(client, event, sign(event, timestamp=int(time.time()) - 301))
        unsigned = client.post(WEBHOOK, event, content_type="application/json")
        tampered = post_event(client, event.replace("11000000", "1"), sign(event))

    for response in (forged, stale, unsigned, tampered):
        assert_error(response, 400, "INVALID_SIGNATURE")
    assert StripeEvent.objects.count() == 0
    assert PaymentTransaction.objects.get(pk=data["id"]).status == Status.PENDING
    assert balance_of(a.tenant) == 0


def test_an_event_signed_during_a_secret_rotation_verifies(
    api, client, a, business, stripe_fake, on_commit
):
    data = buy_by_card(api, a.owner, business)
    session_id = PaymentTransaction.objects.get(pk=data["id"]).provider_reference
    stripe_fake.complete(session_id)
    event = stripe_fake.event(session_id)

    with on_commit():
        ok_data(
            post_event(client, event, sign_rotating(event, ["whsec_rolled_out", WEBHOOK_SECRET]))
        )

    assert PaymentTransaction.objects.get(pk=data["id"]).status == Status.COMPLETED
    assert balance_of(a.tenant) == 5250


def test_a_card_payment_of_another_amount_goes_to_review(
    api, client, a, business, stripe_fake, on_commit
):
    data = buy_by_card(api, a.owner, business)
    session_id = PaymentTransaction.objects.get(pk=data["id"]).provider_reference
    stripe_fake.complete(session_id, amount_total=100_000)  # 1,000 TZS

    with on_commit():
        ok_data(post_event(client, stripe_fake.event(session_id)))

    payment = PaymentTransaction.objects.get(pk=data["id"])
    assert payment.status == Status.REVIEW
    assert payment.paid_amount == Decimal("1000")
    assert balance_of(a.tenant) == 0


def test_an_expired_checkout_fails_the_order(api, client, a, business, stripe_fake, on_commit):
    data = buy_by_card(api, a.owner, business)
    session_id = PaymentTransaction.objects.get(pk=data["id"]).provider_reference
    stripe_fake.expire(session_id)

    with on_commit():
        ok_data(post_event(client, stripe_fake.event(session_id, "checkout.session.expired")))

    assert PaymentTransaction.objects.get(pk=data["id"]).status == Status.FAILED
    assert StripeEvent.objects.get().state == StripeEvent.State.APPLIED
    assert balance_of(a.tenant) == 0


def test_an_event_for_an_unknown_order_is_stored_unmatched(client, db, stripe_fake, on_commit):
    session = {"id": "cs_test_elsewhere", "object": "checkout.session", "metadata": {}}
    paid = event_json("checkout.session.completed", {**session, "client_reference_id": "MFX"})
    nameless = event_json("checkout.session.completed", {**session, "client_reference_id": None})

    with on_commit():
        ok_data(post_event(client, paid))
        ok_data(post_event(client, nameless))

    stored = StripeEvent.objects.order_by("id")
    assert [(e.order_id, e.state) for e in stored] == [
        ("MFX", StripeEvent.State.UNMATCHED),
        ("", StripeEvent.State.UNMATCHED),
    ]


def test_events_about_unknown_subscriptions_are_stored_unmatched_and_others_ignored(
    client, db, stripe_fake, on_commit
):
    events = [
        event_json("customer.subscription.created", {"id": "sub_test_1", "object": "subscription"}),
        event_json("invoice.payment_succeeded", {"id": "in_test_1", "object": "invoice"}),
        event_json("customer.created", {"id": "cus_test_1", "object": "customer"}),
    ]

    with on_commit():
        for event in events:
            ok_data(post_event(client, event))

    states = dict(StripeEvent.objects.values_list("event_type", "state"))
    assert states == {
        "customer.subscription.created": StripeEvent.State.UNMATCHED,
        "invoice.payment_succeeded": StripeEvent.State.UNMATCHED,
        "customer.created": StripeEvent.State.IGNORED,
    }


def test_cards_go_to_stripe_only_when_it_is_configured(api, a, settings, stripe_fake):
    providers = {
        p["payment_method"]: p
        for p in ok_data(api(a.agent).get("/api/billing/payments/providers/"))
    }
    assert providers["card"]["provider"] == "stripe"

    settings.STRIPE_SECRET_KEY = ""
    settings.PAYMENT_PROVIDER = "zenopay"
    providers = {
        p["payment_method"]: p
        for p in ok_data(api(a.agent).get("/api/billing/payments/providers/"))
    }
    assert providers["card"]["available"] is False


def test_operators_read_stripe_events_in_the_admin(client, db):
    from accounts.models import User

    root = User.objects.create_superuser(email="root@example.com", password="Root-Pass-123")
    client.force_login(root)

    assert client.get("/admin/webhooks/stripeevent/").status_code == 200


@committed
def test_an_event_delivered_20_times_in_parallel_credits_once(committed_tenant, stripe_fake):
    sms_packages_seed()
    package = SmsPackage.objects.get(name="Business")
    payment = payment_initiate(
        tenant=committed_tenant.tenant,
        payment_method="card",
        buyer=Buyer(name="Buyer", email="buyer@example.com", phone=PHONE),
        package=package,
    )
    stripe_fake.complete(payment.provider_reference)
    event = stripe_fake.event(payment.provider_reference)
    signature = sign(event)
    workers = 20

    def deliver(_: int) -> int:
        response = Client().post(
            WEBHOOK, event, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature
        )
        return response.status_code

    try:
        answers = at_once(deliver, workers)

        assert answers == [200] * workers
        payment.refresh_from_db()
        assert payment.status == Status.COMPLETED
        assert balance_of(committed_tenant.tenant) == 5250
        kinds = sorted(payment.credit_entries.values_list("kind", flat=True))
        assert kinds == [Kind.BONUS, Kind.PURCHASE]
        assert StripeEvent.objects.filter(order_id=payment.order_id).count() == 1
    finally:
        StripeEvent.objects.filter(order_id=payment.order_id).delete()
        Invoice.objects.filter(payment=payment).delete()
        CreditLedgerEntry.objects.filter(payment=payment).delete()
        payment.delete()
        SmsPackage.objects.all().delete()
