"""Buying credits: the sandbox and ZenoPay (its fake) take payments; an order is credited once,
with its bonus, only when the provider's status answer says it was paid as ordered and in
time; callbacks are verified, stored once and never trusted on their own."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from billing.models import CreditLedgerEntry, PaymentTransaction, SmsPackage
from billing.payments.services import Buyer, payment_confirm, payment_initiate, payments_expire
from billing.selectors import credit_balance_get
from billing.services import sms_packages_seed
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, ok_data
from tests.fakes.zenopay import API_KEY, FakeZenoPay
from webhooks.models import PaymentCallback

Status = PaymentTransaction.Status
Kind = CreditLedgerEntry.Kind
PURCHASE = "/api/billing/sms/purchase/"
INITIATE = "/api/billing/payments/initiate/"
CALLBACK = "/webhooks/zenopay/"
PHONE = "+255712345678"


def status_url(payment_id) -> str:
    return f"/api/billing/payments/transactions/{payment_id}/status/"


def verify_url(order_id) -> str:
    return f"/api/billing/payments/verify/{order_id}/"


def balance_of(tenant) -> int:
    return credit_balance_get(tenant_id=tenant.pk).credits


def ledger_of(tenant) -> list[tuple[str, int]]:
    entries = CreditLedgerEntry.objects.filter(tenant=tenant).order_by("created_at", "kind")
    return [(e.kind, e.credits) for e in entries]


@pytest.fixture
def business(db) -> SmsPackage:
    sms_packages_seed()
    return SmsPackage.objects.get(name="Business")  # 5,000 SMS + 250 bonus for 110,000 TZS


@pytest.fixture
def instant_sandbox(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 0


@pytest.fixture
def zenopay(settings):
    with FakeZenoPay() as fake:
        settings.PAYMENT_PROVIDER = "zenopay"
        settings.ZENOPAY_BASE_URL = fake.url
        settings.ZENOPAY_API_KEY = API_KEY
        yield fake


def post_callback(client, fake: FakeZenoPay, order_id: str, key: str = API_KEY):
    _, body, _ = fake.callback(order_id)
    return client.post(CALLBACK, body, content_type="application/json", HTTP_X_API_KEY=key)


# --- Sandbox


def test_a_package_bought_with_the_sandbox_is_pending_then_credited_with_its_bonus(
    api, a, b, business, instant_sandbox, on_commit
):
    with on_commit():
        response = api(a.owner).post(
            PURCHASE,
            {
                "package_id": str(business.pk),
                "payment_method": "mobile_money",
                "phone_number": PHONE,
            },
            format="json",
        )

    data = ok_data(response, 201)
    assert data["status"] == "pending"  # as answered, before the provider confirmed
    assert data["amount"] == 110000
    assert data["currency"] == "TZS"
    assert data["purchase"] == {"package_name": "Business", "sms_count": 5000, "price": 110000}
    assert set(data) >= {"id", "order_id", "payment_url", "expires_at"}
    payment = PaymentTransaction.objects.get(pk=data["id"])
    assert payment.status == Status.COMPLETED
    assert abs(payment.expires_at - payment.created_at - timedelta(minutes=30)).total_seconds() < 1
    assert balance_of(a.tenant) == 5250
    assert sorted(ledger_of(a.tenant)) == [(Kind.BONUS, 250), (Kind.PURCHASE, 5000)]
    assert set(payment.credit_entries.values_list("reference", flat=True)) == {payment.order_id}
    assert balance_of(b.tenant) == 0

    shown = ok_data(api(a.owner).get(status_url(payment.pk)))
    assert shown["status"] == "completed"
    balance = ok_data(api(a.agent).get("/api/billing/sms/balance/"))
    assert balance["credits"] == 5250
    assert balance["total_purchased"] == 5250
    assert balance["balance"]["credits"] == 5250
    assert balance["usage"] == {"used_this_month": 0, "remaining": 5250}


def test_the_sandbox_completes_only_after_its_delay(api, a, business, settings, on_commit):
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 3
    with on_commit():  # the task runs at once here: the sandbox still says pending
        data = ok_data(
            api(a.owner).post(
                INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
            ),
            201,
        )

    assert ok_data(api(a.owner).get(verify_url(data["order_id"])))["status"] == "pending"
    assert balance_of(a.tenant) == 0

    PaymentTransaction.objects.filter(pk=data["id"]).update(
        created_at=timezone.now() - timedelta(seconds=4)
    )
    assert ok_data(api(a.agent).get(verify_url(data["order_id"])))["status"] == "completed"
    assert ok_data(api(a.agent).get(verify_url(data["order_id"])))["status"] == "completed"
    assert balance_of(a.tenant) == 5250


def test_a_phone_ending_in_9999_fails_and_grants_nothing(
    api, a, business, instant_sandbox, on_commit
):
    with on_commit():
        data = ok_data(
            api(a.admin).post(
                INITIATE,
                {"package_id": str(business.pk), "buyer_phone": "+255712349999"},
                format="json",
            ),
            201,
        )

    shown = ok_data(api(a.owner).get(status_url(data["id"])))
    assert shown["status"] == "failed"
    assert "9999" in shown["failure_reason"]
    assert balance_of(a.tenant) == 0


def test_credits_bought_without_a_package_cost_the_credit_price(api, a, instant_sandbox, on_commit):
    with on_commit():
        data = ok_data(
            api(a.owner).post(INITIATE, {"credits": 40, "buyer_phone": PHONE}, format="json"), 201
        )

    assert data["amount"] == 1000  # 40 x 25 TZS
    assert data["purchase"] is None
    assert balance_of(a.tenant) == 40


def test_members_read_but_only_owners_and_admins_buy(api, a, business):
    body = {"package_id": str(business.pk), "payment_method": "mobile_money", "phone_number": PHONE}

    assert_error(api(a.agent).post(PURCHASE, body, format="json"), 403, "PERMISSION_DENIED")
    assert_error(api(a.agent).post(INITIATE, body, format="json"), 403, "PERMISSION_DENIED")
    assert PaymentTransaction.objects.count() == 0
    packages = ok_data(api(a.agent).get("/api/billing/sms/packages/"))
    assert [p["name"] for p in packages["results"]] == [
        "Starter",
        "Business",
        "Professional",
        "Enterprise",
    ]
    first = packages["results"][1]
    assert first["credits"] == 5250
    assert first["is_popular"] is True
    assert first["unit_price"] == "22.0000"


def test_input_is_checked(api, a, business):
    owner = api(a.owner)

    both = {"package_id": str(business.pk), "credits": 5, "buyer_phone": PHONE}
    assert_error(owner.post(INITIATE, both, format="json"), 400, "VALIDATION_ERROR")
    retired = SmsPackage.objects.filter(name="Starter")
    retired.update(is_active=False)
    gone = {"package_id": str(retired.get().pk), "buyer_phone": PHONE}
    assert_error(owner.post(INITIATE, gone, format="json"), 404, "NOT_FOUND")
    bad_phone = {"package_id": str(business.pk), "buyer_phone": "12"}
    assert_error(owner.post(INITIATE, bad_phone, format="json"), 400, "INVALID_PHONE_FORMAT")
    coupon = {"package_id": str(business.pk), "payment_method": "card", "coupon_code": "X"}
    assert_error(owner.post(PURCHASE, coupon, format="json"), 400, "INVALID_COUPON")
    assert PaymentTransaction.objects.count() == 0


def test_an_idempotency_key_starts_one_payment(api, a, business, instant_sandbox, on_commit):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="buy-1")
    body = {"package_id": str(business.pk), "buyer_phone": PHONE}
    with on_commit():
        first = client.post(INITIATE, body, format="json")
        again = client.post(INITIATE, body, format="json")

    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json()
    assert PaymentTransaction.objects.count() == 1
    assert balance_of(a.tenant) == 5250


def test_another_tenants_payment_is_not_found(api, a, b, business, instant_sandbox, on_commit):
    with on_commit():
        data = ok_data(
            api(a.owner).post(
                INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
            ),
            201,
        )

    assert_error(api(b.owner).get(status_url(data["id"])), 404, "NOT_FOUND")
    assert_error(api(b.owner).get(verify_url(data["order_id"])), 404, "NOT_FOUND")
    assert ok_data(api(b.owner).get("/api/billing/sms/purchases/history/"))["count"] == 0
    assert ok_data(api(b.owner).get("/api/billing/history/?type=payment"))["count"] == 0


# --- ZenoPay


def test_zenopay_is_asked_as_published_and_credits_after_its_status_says_paid(
    api, client, a, business, zenopay, on_commit
):
    data = ok_data(
        api(a.owner).post(
            PURCHASE,
            {
                "package_id": str(business.pk),
                "payment_method": "mobile_money",
                "phone_number": PHONE,
            },
            format="json",
        ),
        201,
    )

    create = zenopay.requests[0]
    sent = create.json()
    assert create.path == "/mobile_money_tanzania"
    assert create.headers["x-api-key"] == API_KEY
    assert sent["buyer_phone"] == "0712345678"
    assert sent["amount"] == 110000
    assert sent["order_id"] == data["order_id"]
    assert sent["webhook_url"].endswith("/webhooks/zenopay/")

    # A callback that arrives before the payer paid: ZenoPay's status says pending.
    with on_commit():
        ok_data(post_callback(client, zenopay, data["order_id"]))
    assert PaymentTransaction.objects.get(pk=data["id"]).status == Status.PENDING
    assert balance_of(a.tenant) == 0

    zenopay.complete(data["order_id"])
    with on_commit():
        ok_data(post_callback(client, zenopay, data["order_id"]))

    assert zenopay.requests[-1].path == "/order-status"
    payment = PaymentTransaction.objects.get(pk=data["id"])
    assert payment.status == Status.COMPLETED
    assert payment.provider_transid.startswith("CEJ")
    assert balance_of(a.tenant) == 5250
    assert PaymentCallback.objects.filter(state=PaymentCallback.State.APPLIED).count() == 2


def test_a_forged_callback_is_refused_and_grants_nothing(
    api, client, a, business, zenopay, on_commit
):
    data = ok_data(
        api(a.owner).post(
            INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
        ),
        201,
    )
    zenopay.complete(data["order_id"])
    _, body, _ = zenopay.callback(data["order_id"])

    with on_commit():
        wrong = post_callback(client, zenopay, data["order_id"], key="guessed")
        missing = client.post(CALLBACK, body, content_type="application/json")

    assert_error(wrong, 403, "PERMISSION_DENIED")
    assert_error(missing, 401, "AUTHENTICATION_REQUIRED")
    assert PaymentCallback.objects.count() == 0
    assert PaymentTransaction.objects.get(pk=data["id"]).status == Status.PENDING
    assert balance_of(a.tenant) == 0
    garbled = client.post(CALLBACK, "{", content_type="application/json", HTTP_X_API_KEY=API_KEY)
    assert_error(garbled, 400, "MALFORMED_REQUEST")


def test_a_payment_of_another_amount_goes_to_review(api, client, a, business, zenopay, on_commit):
    data = ok_data(
        api(a.owner).post(
            INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
        ),
        201,
    )
    zenopay.complete(data["order_id"], amount=1000)

    with on_commit():
        post_callback(client, zenopay, data["order_id"])

    payment = PaymentTransaction.objects.get(pk=data["id"])
    assert payment.status == Status.REVIEW
    assert payment.paid_amount == Decimal("1000")
    assert "1000" in payment.failure_reason
    assert balance_of(a.tenant) == 0
    assert ledger_of(a.tenant) == []


def test_an_expired_order_never_credits(api, client, a, business, zenopay, on_commit):
    data = ok_data(
        api(a.owner).post(
            INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
        ),
        201,
    )
    PaymentTransaction.objects.filter(pk=data["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert payments_expire() == 1
    assert ok_data(api(a.owner).get(status_url(data["id"])))["status"] == "expired"
    zenopay.complete(data["order_id"])
    with on_commit():
        post_callback(client, zenopay, data["order_id"])

    payment = PaymentTransaction.objects.get(pk=data["id"])
    assert payment.status == Status.REVIEW  # money arrived late: an operator decides
    assert balance_of(a.tenant) == 0


def test_a_failed_or_cancelled_payment_grants_nothing(api, client, a, business, zenopay, on_commit):
    orders = [
        ok_data(
            api(a.owner).post(
                INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
            ),
            201,
        )
        for _ in range(2)
    ]
    zenopay.fail(orders[0]["order_id"])
    zenopay.cancel(orders[1]["order_id"])

    with on_commit():
        for order in orders:
            post_callback(client, zenopay, order["order_id"])

    statuses = [PaymentTransaction.objects.get(pk=o["id"]).status for o in orders]
    assert statuses == [Status.FAILED, Status.CANCELLED]
    assert balance_of(a.tenant) == 0


def test_zenopay_refusing_the_order_fails_it(api, a, business, zenopay):
    zenopay.fail_next(status=400)

    response = api(a.owner).post(
        INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
    )

    body = assert_error(response, 502, "PAYMENT_PROVIDER_ERROR")
    payment = PaymentTransaction.objects.get(pk=body["details"]["transaction_id"])
    assert payment.status == Status.FAILED


def test_zenopay_unreachable_leaves_the_order_pending(api, a, business, settings):
    settings.PAYMENT_PROVIDER = "zenopay"
    settings.ZENOPAY_API_KEY = API_KEY
    settings.ZENOPAY_BASE_URL = "http://127.0.0.1:9"  # nothing listens
    settings.ZENOPAY_TIMEOUT_SECONDS = 1

    data = ok_data(
        api(a.owner).post(
            INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
        ),
        201,
    )

    assert data["status"] == "pending"
    assert ok_data(api(a.owner).get(verify_url(data["order_id"])))["status"] == "pending"


# --- Exactly once, under concurrency


def _zenopay_order(tenant, package, fake: FakeZenoPay) -> PaymentTransaction:
    payment = payment_initiate(
        tenant=tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="Buyer", email="buyer@example.com", phone=PHONE),
        package=package,
    )
    fake.complete(payment.order_id)
    return payment


@committed
def test_a_callback_replayed_20_times_in_parallel_grants_once(committed_tenant, zenopay):
    sms_packages_seed()
    package = SmsPackage.objects.get(name="Business")
    payment = _zenopay_order(committed_tenant.tenant, package, zenopay)
    _, body, _ = zenopay.callback(payment.order_id)
    workers = 20

    def replay(_: int) -> int:
        response = Client().post(
            CALLBACK, body, content_type="application/json", HTTP_X_API_KEY=API_KEY
        )
        return response.status_code

    try:
        answers = at_once(replay, workers)

        assert answers == [200] * workers
        payment.refresh_from_db()
        assert payment.status == Status.COMPLETED
        assert balance_of(committed_tenant.tenant) == 5250
        kinds = sorted(payment.credit_entries.values_list("kind", flat=True))
        assert kinds == [Kind.BONUS, Kind.PURCHASE]
        assert PaymentCallback.objects.filter(order_id=payment.order_id).count() == 1
    finally:
        PaymentCallback.objects.filter(order_id=payment.order_id).delete()
        CreditLedgerEntry.objects.filter(payment=payment).delete()
        payment.delete()
        SmsPackage.objects.all().delete()


@committed
def test_20_confirmations_at_once_grant_once(committed_tenant, settings):
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600  # its own check stays pending meanwhile
    payment = payment_initiate(
        tenant=committed_tenant.tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="Buyer", email="buyer@example.com", phone=PHONE),
        credits=100,
    )
    workers = 20

    def confirm(_: int) -> str | None:
        return payment_confirm(
            transaction_id=payment.pk, paid_amount=payment.amount, paid_currency="TZS"
        )

    try:
        outcomes = at_once(confirm, workers)

        assert outcomes.count(Status.COMPLETED) == 1
        assert outcomes.count(None) == workers - 1
        assert balance_of(committed_tenant.tenant) == 100
    finally:
        CreditLedgerEntry.objects.filter(payment=payment).delete()
        payment.delete()


def test_the_ledger_refuses_a_second_purchase_entry_for_one_payment(a, business, instant_sandbox):
    from django.db import IntegrityError, transaction

    from billing.services import credit_add

    payment = payment_initiate(
        tenant=a.tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="Buyer", email="b@example.com", phone=PHONE),
        package=business,
    )
    payment_confirm(transaction_id=payment.pk, paid_amount=payment.amount, paid_currency="TZS")

    with pytest.raises(IntegrityError), transaction.atomic():
        credit_add(tenant_id=a.tenant.pk, credits=1, payment_id=payment.pk)
    assert balance_of(a.tenant) == 5250
    assert (
        payment_confirm(transaction_id=payment.pk, paid_amount=payment.amount, paid_currency="TZS")
        is None
    )


# --- The other routes, in the envelope


def test_the_providers_route_names_what_can_be_used(api, a):
    providers = ok_data(api(a.agent).get("/api/billing/payments/providers/"))

    by_method = {p["payment_method"]: p for p in providers}
    assert by_method["mobile_money"]["provider"] == "sandbox"
    assert by_method["mobile_money"]["available"] is True
    assert {n["id"] for n in by_method["mobile_money"]["networks"]} == {
        "vodacom",
        "tigo",
        "airtel",
        "halotel",
    }


def test_zenopay_takes_mobile_money_but_no_cards(api, a, business, zenopay):
    providers = ok_data(api(a.agent).get("/api/billing/payments/providers/"))
    card = {"package_id": str(business.pk), "payment_method": "card", "phone_number": PHONE}

    assert [p["available"] for p in providers] == [True, False]
    assert_error(api(a.owner).post(PURCHASE, card, format="json"), 400, "VALIDATION_ERROR")


def test_the_histories_list_payments_and_ledger_entries(api, a, b, business, settings, on_commit):
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 0
    with on_commit():
        for phone in (PHONE, "+255712349999"):
            api(a.owner).post(
                INITIATE, {"package_id": str(business.pk), "buyer_phone": phone}, format="json"
            )
    agent = api(a.agent)

    purchases = ok_data(agent.get("/api/billing/sms/purchases/history/"))
    completed = ok_data(agent.get("/api/billing/sms/purchases/history/?status=completed"))
    assert purchases["count"] == 2
    assert [p["status"] for p in completed["results"]] == ["completed"]
    assert_error(
        agent.get("/api/billing/sms/purchases/history/?status=paid"), 400, "VALIDATION_ERROR"
    )
    ledger = ok_data(agent.get("/api/billing/history/"))
    assert sorted(item["kind"] for item in ledger["results"]) == ["bonus", "purchase"]
    assert ok_data(agent.get("/api/billing/history/?type=usage"))["count"] == 0
    assert ok_data(agent.get("/api/billing/history/?type=purchase"))["count"] == 2
    payments = ok_data(agent.get("/api/billing/history/?type=payment"))["results"]
    assert sorted(p["kind"] for p in payments) == ["completed", "failed"]
    assert {p["amount"] for p in payments} == {110000}
    assert_error(agent.get("/api/billing/history/?type=gift"), 400, "VALIDATION_ERROR")
    assert ok_data(api(b.owner).get("/api/billing/history/"))["count"] == 0


def test_the_cost_calculator_counts_segments(api, a):
    cost = ok_data(
        api(a.agent).get(
            "/api/billing/sms/cost-calculator/", {"message": "x" * 161, "recipient_count": 10}
        )
    )
    unicode = ok_data(
        api(a.agent).get("/api/billing/sms/cost-calculator/", {"message": "Habari 😀"})
    )

    assert cost["segments"] == 2
    assert cost["encoding"] == "GSM-7"
    assert cost["credits"] == 20
    assert cost["price"] == 500
    assert cost["currency"] == "TZS"
    assert unicode["encoding"] == "UCS-2"
    assert unicode["credits"] == 1
    missing = api(a.agent).get("/api/billing/sms/cost-calculator/")
    assert_error(missing, 400, "VALIDATION_ERROR")


def test_billing_routes_need_a_signed_in_member(api):
    for url in ("/api/billing/sms/packages/", "/api/billing/sms/balance/"):
        assert_error(api().get(url), 401, "AUTHENTICATION_REQUIRED")


def test_the_set_up_creates_the_catalogue_once(db):
    from django.core.management import call_command

    call_command("demo_setup", "--subdomain", "demo-billing", stdout=io.StringIO())
    SmsPackage.objects.filter(name="Starter").update(price=Decimal("20000"))
    call_command("demo_setup", "--subdomain", "demo-billing", stdout=io.StringIO())

    packages = SmsPackage.objects.all()
    assert [p.name for p in packages] == ["Starter", "Business", "Professional", "Enterprise"]
    assert {p.currency for p in packages} == {"TZS"}
    assert packages[0].price == Decimal("20000")  # an operator's change stays


def test_operators_manage_packages_in_the_admin(client, db):
    from accounts.models import User

    root = User.objects.create_superuser(email="root@example.com", password="Root-Pass-123")
    client.force_login(root)
    form = {
        "name": "Tiny",
        "package_type": "starter",
        "sms_count": "100",
        "bonus_sms": "0",
        "price": "3000",
        "currency": "TZS",
        "is_active": "on",
        "features": '["100 SMS"]',
        "sort_order": "0",
    }

    response = client.post("/admin/billing/smspackage/add/", form)

    assert response.status_code == 302, response.content
    assert SmsPackage.objects.get(name="Tiny").features == ["100 SMS"]
    assert client.get("/admin/billing/paymenttransaction/").status_code == 200
    assert client.get("/admin/webhooks/paymentcallback/").status_code == 200


def test_an_order_paid_but_never_called_back_goes_to_review_when_it_expires(
    api, a, business, zenopay
):
    data = ok_data(
        api(a.owner).post(
            INITIATE, {"package_id": str(business.pk), "buyer_phone": PHONE}, format="json"
        ),
        201,
    )
    zenopay.complete(data["order_id"])  # its callback is lost
    PaymentTransaction.objects.filter(pk=data["id"]).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )

    assert payments_expire() == 0
    assert PaymentTransaction.objects.get(pk=data["id"]).status == Status.REVIEW
    assert balance_of(a.tenant) == 0
