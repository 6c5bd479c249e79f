"""Operators' entries through the service: corrections of a balance (the admin's form, with a
required reason, never below zero) and refunds of completed payments (in full or in part, once,
even when two operators press at once), whose credits still in the balance are taken back by
one reversal entry, through Stripe for a card payment. The ledger balances throughout."""

from decimal import Decimal

import pytest

from accounts.models import User
from billing.integrity import ledger_integrity_check
from billing.models import CreditLedgerEntry, CreditLot, PaymentTransaction, SmsPackage
from billing.payments.services import Buyer, payment_confirm, payment_initiate, payment_verify
from billing.refunds import payment_refund
from billing.selectors import credit_balance_get
from billing.services import credit_add, credit_correct, credit_reserve, sms_packages_seed
from mifumo.errors import ApplicationError
from tests.concurrency import at_once
from tests.conftest import committed
from tests.fakes.stripe import SECRET_KEY, WEBHOOK_SECRET, FakeStripe

Kind = CreditLedgerEntry.Kind
Status = PaymentTransaction.Status
PHONE = "+255712345678"
BALANCES = "/admin/billing/creditbalance/"
PAYMENTS = "/admin/billing/paymenttransaction/"


def balance_of(tenant) -> int:
    return credit_balance_get(tenant_id=tenant.pk).credits


def entries_of(tenant) -> list[tuple]:
    """The tenant's ledger, oldest first, as (kind, credits, balance_after, reason)."""
    entries = CreditLedgerEntry.objects.filter(tenant=tenant).order_by("created_at", "id")
    return [(e.kind, e.credits, e.balance_after, e.reason) for e in entries]


@pytest.fixture
def staff(client, a, b):
    root = User.objects.create_superuser(email="root@example.com", password="Root-Pass-123")
    client.force_login(root)
    client.root = root
    return client


@pytest.fixture
def business(db) -> SmsPackage:
    sms_packages_seed()
    return SmsPackage.objects.get(name="Business")  # 5,000 SMS + 250 bonus for 110,000 TZS


@pytest.fixture
def instant_sandbox(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600  # its own check stays pending: we confirm


def mobile_money_paid(tenant, *, package=None, credits=None) -> PaymentTransaction:
    payment = payment_initiate(
        tenant=tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="Asha Juma", email="asha@example.com", phone=PHONE),
        package=package,
        credits=credits,
    )
    assert (
        payment_confirm(
            transaction_id=payment.pk, paid_amount=payment.amount, paid_currency=payment.currency
        )
        == Status.COMPLETED
    )
    payment.refresh_from_db()
    return payment


@pytest.fixture
def stripe_fake(settings):
    with FakeStripe() as fake:
        settings.STRIPE_SECRET_KEY = SECRET_KEY
        settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
        settings.STRIPE_API_BASE = fake.url
        settings.FRONTEND_URL = "https://app.example.com"
        yield fake


def card_paid(tenant, package, fake: FakeStripe) -> PaymentTransaction:
    payment = payment_initiate(
        tenant=tenant,
        payment_method="card",
        buyer=Buyer(name="Asha Juma", email="asha@example.com", phone=PHONE),
        package=package,
    )
    fake.complete(payment.provider_reference)
    payment = payment_verify(payment=payment)
    assert payment.status == Status.COMPLETED
    return payment


def reversals_of(payment) -> list[int]:
    return list(payment.credit_entries.filter(kind=Kind.REVERSAL).values_list("credits", flat=True))


# --- Corrections


def test_an_operator_corrects_a_balance_in_the_admin_with_a_reason(staff, a, b):
    credit_add(tenant_id=a.tenant.pk, credits=10)
    url = f"{BALANCES}{a.tenant.pk}/change/"

    page = staff.get(url).content.decode()
    response = staff.post(url, {"add_credits": "-4", "reason": "  Double entry  "})

    assert 'name="reason"' in page
    assert response.status_code == 302
    entry = CreditLedgerEntry.objects.filter(tenant=a.tenant).order_by("-created_at").first()
    assert (entry.kind, entry.credits, entry.balance_after) == (Kind.CORRECTION, -4, 6)
    assert (entry.reason, entry.reference, entry.created_by_id) == (
        "Double entry",
        "admin",
        staff.root.id,
    )
    assert balance_of(a.tenant) == 6
    assert balance_of(b.tenant) == 0
    assert ledger_integrity_check() == []


def test_a_positive_correction_is_a_correction_not_a_purchase(staff, a):
    response = staff.post(
        f"{BALANCES}add/",
        {"tenant": str(a.tenant.pk), "add_credits": "25", "reason": "Promised on the phone"},
    )

    assert response.status_code == 302
    assert entries_of(a.tenant) == [(Kind.CORRECTION, 25, 25, "Promised on the phone")]


@pytest.mark.parametrize("reason", [None, "", "   "])
def test_a_correction_needs_a_reason(staff, a, reason):
    credit_add(tenant_id=a.tenant.pk, credits=10)
    body = {"add_credits": "5"} if reason is None else {"add_credits": "5", "reason": reason}

    response = staff.post(f"{BALANCES}{a.tenant.pk}/change/", body)

    assert response.status_code == 200  # the form again, with its error
    assert "This field is required." in response.content.decode()
    assert balance_of(a.tenant) == 10


def test_a_correction_below_zero_is_refused_in_the_admin_and_by_the_service(staff, a):
    credit_add(tenant_id=a.tenant.pk, credits=3)

    response = staff.post(
        f"{BALANCES}{a.tenant.pk}/change/", {"add_credits": "-4", "reason": "Too many"}
    )
    with pytest.raises(ApplicationError) as refused:
        credit_correct(tenant_id=a.tenant.pk, credits=-4, reason="Too many", created_by=None)

    assert response.status_code == 200
    assert "cannot go below zero" in response.content.decode()
    assert (refused.value.status_code, refused.value.code) == (402, "INSUFFICIENT_BALANCE")
    assert balance_of(a.tenant) == 3
    assert len(entries_of(a.tenant)) == 1


@pytest.mark.parametrize(
    ("credits", "reason", "field"), [(0, "Why", "credits"), (5, " ", "reason")]
)
def test_the_service_refuses_an_empty_correction(a, credits, reason, field):
    with pytest.raises(ApplicationError) as refused:
        credit_correct(tenant_id=a.tenant.pk, credits=credits, reason=reason, created_by=None)

    assert refused.value.code == "VALIDATION_ERROR"
    assert set(refused.value.errors) == {field}
    assert entries_of(a.tenant) == []


# --- Refunds of mobile money


def test_a_full_refund_takes_back_what_is_left_of_the_payments_credits(
    a, b, business, instant_sandbox, staff
):
    payment = mobile_money_paid(a.tenant, package=business)
    credit_reserve(tenant_id=a.tenant.pk, credits=250, reference="send")
    other = mobile_money_paid(b.tenant, credits=100)

    refunded = payment_refund(
        payment_id=payment.pk, reason=" Customer cancelled ", created_by=staff.root
    )

    assert refunded.status == Status.REFUNDED
    assert refunded.refunded_amount == Decimal("110000")
    assert refunded.refunded_at is not None
    assert refunded.refund_reason == (
        "Customer cancelled (Sandbox: sent back by hand by the operator)"
    )
    # 5,250 were granted; 250 are spent: the 5,000 left go back.
    assert reversals_of(payment) == [-5000]
    entry = payment.credit_entries.get(kind=Kind.REVERSAL)
    assert entry.created_by == staff.root
    assert entry.reason == f"Payment {payment.order_id} refunded: Customer cancelled"
    assert balance_of(a.tenant) == 0
    assert CreditLot.objects.get(payment=payment).remaining == 250
    assert balance_of(b.tenant) == 100
    assert PaymentTransaction.objects.get(pk=other.pk).status == Status.COMPLETED
    assert ledger_integrity_check() == []


def test_a_partial_refund_takes_back_its_share(a, business, instant_sandbox):
    payment = mobile_money_paid(a.tenant, package=business)

    refunded = payment_refund(
        payment_id=payment.pk, amount=Decimal("36666.67"), reason="Part", created_by=None
    )

    assert refunded.refunded_amount == Decimal("36666.67")
    # 5,250 * 36,666.67 / 110,000 = 1,750.0002: rounded down.
    assert reversals_of(payment) == [-1750]
    assert balance_of(a.tenant) == 3500
    assert CreditLot.objects.get(payment=payment).remaining == 3500
    assert ledger_integrity_check() == []


def test_what_expired_or_was_spent_is_not_taken_twice(a, business, instant_sandbox):
    payment = mobile_money_paid(a.tenant, package=business)
    CreditLot.objects.filter(payment=payment).update(remaining=1000)  # as the expiry run left it
    credit_add(tenant_id=a.tenant.pk, credits=10)  # credits bought otherwise stay

    payment_refund(payment_id=payment.pk, reason="Refund", created_by=None)

    assert reversals_of(payment) == [-1000]
    assert balance_of(a.tenant) == 5260 - 1000
    assert CreditLot.objects.get(payment=payment).remaining == 0


def test_a_refund_with_nothing_left_writes_no_entry(a, instant_sandbox):
    payment = mobile_money_paid(a.tenant, credits=100)
    credit_reserve(tenant_id=a.tenant.pk, credits=100, reference="send")

    refunded = payment_refund(payment_id=payment.pk, reason="Refund", created_by=None)

    assert refunded.status == Status.REFUNDED
    assert reversals_of(payment) == []
    assert balance_of(a.tenant) == 0


def test_a_second_refund_is_refused(a, instant_sandbox):
    payment = mobile_money_paid(a.tenant, credits=100)
    payment_refund(payment_id=payment.pk, amount=Decimal("1000"), reason="Part", created_by=None)

    with pytest.raises(ApplicationError) as refused:
        payment_refund(payment_id=payment.pk, reason="Again", created_by=None)

    assert (refused.value.status_code, refused.value.code) == (409, "INVALID_STATUS")
    assert refused.value.details == {
        "current_status": "refunded",
        "allowed_statuses": ["completed"],
    }
    assert reversals_of(payment) == [-40]
    assert PaymentTransaction.objects.get(pk=payment.pk).refund_reason.startswith("Part")


@pytest.mark.parametrize(
    ("amount", "reason", "field"),
    [
        (Decimal("0"), "Why", "amount"),
        (Decimal("-1"), "Why", "amount"),
        (Decimal("2500.01"), "Why", "amount"),
        (Decimal("10.001"), "Why", "amount"),
        (None, "  ", "reason"),
    ],
)
def test_a_refund_out_of_bounds_changes_nothing(a, instant_sandbox, amount, reason, field):
    payment = mobile_money_paid(a.tenant, credits=100)  # 2,500 TZS

    with pytest.raises(ApplicationError) as refused:
        payment_refund(payment_id=payment.pk, amount=amount, reason=reason, created_by=None)

    assert set(refused.value.errors) == {field}
    assert PaymentTransaction.objects.get(pk=payment.pk).status == Status.COMPLETED
    assert reversals_of(payment) == []


def test_only_a_completed_payment_is_refunded(a, instant_sandbox):
    pending = payment_initiate(
        tenant=a.tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="Asha", email="asha@example.com", phone=PHONE),
        credits=10,
    )

    with pytest.raises(ApplicationError) as refused:
        payment_refund(payment_id=pending.pk, reason="Why", created_by=None)

    assert refused.value.code == "INVALID_STATUS"
    assert PaymentTransaction.objects.get(pk=pending.pk).status == Status.PENDING


@committed
def test_two_refunds_at_once_reverse_once(committed_tenant, settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600
    tenant = committed_tenant.tenant
    payment = mobile_money_paid(tenant, credits=100)
    workers = 6

    def refund(index: int) -> str:
        try:
            payment_refund(payment_id=payment.pk, reason=f"Operator {index}", created_by=None)
        except ApplicationError as exc:
            return exc.code
        return "refunded"

    try:
        outcomes = at_once(refund, workers)

        assert sorted(outcomes) == ["INVALID_STATUS"] * (workers - 1) + ["refunded"]
        assert reversals_of(payment) == [-100]
        assert balance_of(tenant) == 0
        assert ledger_integrity_check() == []
    finally:
        CreditLedgerEntry.objects.filter(payment=payment).delete()
        payment.delete()


# --- Refunds of card payments, through Stripe


def test_a_card_payment_is_refunded_through_stripe(a, business, stripe_fake):
    payment = card_paid(a.tenant, business, stripe_fake)

    refunded = payment_refund(
        payment_id=payment.pk, amount=Decimal("55000"), reason="Half back", created_by=None
    )

    call = stripe_fake.requests[-1]
    assert (call.method, call.path) == ("POST", "/v1/refunds")
    assert call.form() == {"payment_intent": payment.provider_transid, "amount": "5500000"}
    assert call.headers["Idempotency-Key"] == f"refund-{payment.provider_transid}-5500000"
    (refund,) = stripe_fake.refunds.values()
    assert refunded.status == Status.REFUNDED
    assert refunded.refund_reason == f"Half back (Stripe refund {refund['id']})"
    assert reversals_of(payment) == [-2625]
    assert ledger_integrity_check() == []


def test_a_refund_stripe_refuses_changes_nothing(a, business, stripe_fake):
    payment = card_paid(a.tenant, business, stripe_fake)
    stripe_fake.fail_next(status=500)

    with pytest.raises(ApplicationError) as refused:
        payment_refund(payment_id=payment.pk, reason="Refund", created_by=None)

    assert (refused.value.status_code, refused.value.code) == (502, "PAYMENT_PROVIDER_ERROR")
    assert PaymentTransaction.objects.get(pk=payment.pk).status == Status.COMPLETED
    assert reversals_of(payment) == []
    assert balance_of(a.tenant) == 5250
    assert stripe_fake.refunds == {}


# --- The admin's refund


def test_an_operator_refunds_a_payment_on_its_admin_page(staff, a, business, instant_sandbox):
    payment = mobile_money_paid(a.tenant, package=business)
    url = f"{PAYMENTS}{payment.pk}/change/"

    page = staff.get(url).content.decode()
    response = staff.post(url, {"refund_amount": "", "refund_note": "Paid twice"})

    assert 'name="refund_note"' in page
    assert response.status_code == 302
    payment.refresh_from_db()
    assert payment.status == Status.REFUNDED
    assert payment.refunded_amount == Decimal("110000")
    assert reversals_of(payment) == [-5250]
    assert payment.credit_entries.get(kind=Kind.REVERSAL).created_by == staff.root
    followed = staff.get(response["Location"]).content.decode()
    assert "5250 credits taken back" in followed
    # A refunded payment's page is read-only: nothing more to refund.
    assert 'name="refund_note"' not in staff.get(url).content.decode()


def test_the_admin_refund_form_refuses_what_the_payment_cannot_give(staff, a, instant_sandbox):
    payment = mobile_money_paid(a.tenant, credits=100)  # 2,500 TZS
    url = f"{PAYMENTS}{payment.pk}/change/"

    too_much = staff.post(url, {"refund_amount": "2500.01", "refund_note": "Why"})
    no_reason = staff.post(url, {"refund_amount": "10"})

    assert too_much.status_code == no_reason.status_code == 200
    assert "At most the 2500.00 TZS paid." in too_much.content.decode()
    assert "This field is required." in no_reason.content.decode()
    assert PaymentTransaction.objects.get(pk=payment.pk).status == Status.COMPLETED


def test_a_refund_stripe_refuses_in_the_admin_is_a_message_not_an_error_page(
    staff, a, business, stripe_fake
):
    payment = card_paid(a.tenant, business, stripe_fake)
    url = f"{PAYMENTS}{payment.pk}/change/"
    stripe_fake.fail_next(status=500)

    response = staff.post(url, {"refund_note": "Refund"}, follow=True)

    body = response.content.decode()
    assert response.status_code == 200
    assert response.redirect_chain == [(url, 302)]
    assert "Stripe did not refund payment" in body
    assert "changed successfully" not in body
    assert PaymentTransaction.objects.get(pk=payment.pk).status == Status.COMPLETED


def test_pending_payments_have_no_refund_form(staff, a, instant_sandbox):
    pending = payment_initiate(
        tenant=a.tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="Asha", email="asha@example.com", phone=PHONE),
        credits=10,
    )

    page = staff.get(f"{PAYMENTS}{pending.pk}/change/")

    assert page.status_code == 200
    assert 'name="refund_note"' not in page.content.decode()
    assert staff.post(f"{PAYMENTS}{pending.pk}/change/", {"refund_note": "x"}).status_code == 403
