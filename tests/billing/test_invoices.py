"""Invoices: one per completed payment, made in the transaction that completes it, numbered
without gaps within a year (a rolled-back completion gives its number back), with the VAT the
price includes, read by members of the tenant only, and each one as a PDF."""

from decimal import Decimal

import pytest
from django.db import transaction
from django.utils import timezone

from billing.coupons import coupon_save
from billing.invoices import invoice_create_for, tax_included
from billing.models import (
    Coupon,
    CreditLedgerEntry,
    Invoice,
    InvoiceCounter,
    PaymentTransaction,
    SmsPackage,
)
from billing.payments.services import Buyer, payment_confirm, payment_initiate
from billing.services import sms_packages_seed
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, ok_data

Status = PaymentTransaction.Status
PHONE = "+255712345678"
INVOICES = "/api/billing/invoices/"


def invoice_url(invoice) -> str:
    return f"{INVOICES}{invoice.pk}/"


def pdf_url(invoice) -> str:
    return f"{INVOICES}{invoice.pk}/pdf/"


@pytest.fixture
def business(db) -> SmsPackage:
    sms_packages_seed()
    return SmsPackage.objects.get(name="Business")  # 5,000 SMS + 250 bonus for 110,000 TZS


@pytest.fixture
def instant_sandbox(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 0


def order(tenant, *, package=None, credits=None, coupon_code="", name="Asha Juma"):
    return payment_initiate(
        tenant=tenant,
        payment_method="mobile_money",
        buyer=Buyer(name=name, email="asha@example.com", phone=PHONE),
        package=package,
        credits=credits,
        coupon_code=coupon_code,
    )


def confirm(payment) -> str | None:
    return payment_confirm(
        transaction_id=payment.pk, paid_amount=payment.amount, paid_currency=payment.currency
    )


def paid(tenant, **kwargs) -> Invoice:
    payment = order(tenant, **kwargs)
    assert confirm(payment) == Status.COMPLETED
    return Invoice.objects.get(payment=payment)


def test_a_sandbox_purchase_makes_one_invoice_however_often_it_is_confirmed(
    api, a, business, instant_sandbox, on_commit
):
    with on_commit():
        response = api(a.owner).post(
            "/api/billing/sms/purchase/",
            {
                "package_id": str(business.pk),
                "payment_method": "mobile_money",
                "phone_number": PHONE,
            },
            format="json",
        )
    payment = PaymentTransaction.objects.get(pk=ok_data(response, 201)["id"])
    assert payment.status == Status.COMPLETED

    assert confirm(payment) is None  # a second confirmation changes nothing
    assert Invoice.objects.filter(payment=payment).count() == 1
    invoice = payment.invoice
    year = timezone.localtime(invoice.issued_at).year
    assert invoice.number == f"MF-{year}-{invoice.sequence:06d}"
    assert invoice_create_for(payment_id=payment.pk) == invoice  # asked again: the same one
    assert Invoice.objects.filter(payment=payment).count() == 1

    data = ok_data(api(a.agent).get(invoice_url(invoice)))  # members read
    assert data["number"] == invoice.number
    assert data["status"] == "paid"
    assert data["transaction_id"] == str(payment.pk)
    assert data["order_id"] == payment.order_id
    assert data["lines"] == [
        {
            "description": "Business SMS package: 5,000 SMS",
            "quantity": 1,
            "unit_price": 110000,
            "amount": 110000,
        },
        {"description": "Bonus SMS", "quantity": 250, "unit_price": 0, "amount": 0},
    ]
    assert (data["subtotal"], data["discount"], data["total"]) == (110000, 0, 110000)
    assert data["tax_rate"] == 0.18
    assert data["tax"] == 16779.66  # 110,000 x 0.18 / 1.18, VAT included in the price
    assert data["tax_included"] is True
    assert data["currency"] == "TZS"
    assert data["coupon_code"] is None


def test_tax_and_totals_with_a_coupon(a, business):
    coupon_save(coupon=Coupon(code="save10", discount_type="percent", value=Decimal("10")))

    invoice = paid(a.tenant, package=business, coupon_code="SAVE10")

    assert invoice.subtotal == Decimal("110000.00")
    assert invoice.discount == Decimal("11000.00")
    assert invoice.total == Decimal("99000.00") == invoice.payment.amount
    assert invoice.tax == Decimal("15101.69")  # 99,000 x 0.18 / 1.18
    assert invoice.subtotal - invoice.discount == invoice.total


def test_credits_without_a_package_and_another_tax_rate(a, settings):
    settings.BILLING_TAX_RATE = Decimal("0.16")

    invoice = paid(a.tenant, credits=100)  # at SMS_CREDIT_PRICE, 25 TZS

    assert invoice.lines == [
        {
            "description": "SMS credits",
            "quantity": 100,
            "unit_price": "25.0000",
            "amount": "2500.00",
        }
    ]
    assert (invoice.subtotal, invoice.discount, invoice.total) == (
        Decimal("2500.00"),
        Decimal("0"),
        Decimal("2500.00"),
    )
    assert invoice.tax_rate == Decimal("0.16")
    assert invoice.tax == Decimal("344.83")  # 2,500 x 0.16 / 1.16 = 344.827...


@pytest.mark.parametrize(
    ("total", "tax"),
    [("118.00", "18.00"), ("1.00", "0.15"), ("3000.00", "457.63"), ("0.07", "0.01")],
)
def test_tax_included_rounds_to_the_cent(total, tax):
    assert tax_included(total=Decimal(total), rate=Decimal("0.18")) == Decimal(tax)


def test_a_rolled_back_completion_burns_no_number(a):
    first, second = order(a.tenant, credits=10), order(a.tenant, credits=20)

    with pytest.raises(RuntimeError), transaction.atomic():
        assert confirm(first) == Status.COMPLETED
        raise RuntimeError("the completion fails after its invoice was numbered")
    first.refresh_from_db()
    assert first.status == Status.PENDING
    assert not Invoice.objects.filter(payment=first).exists()

    numbered = paid(a.tenant, credits=30)
    assert confirm(second) == Status.COMPLETED
    again = Invoice.objects.get(payment=second)
    assert again.sequence == numbered.sequence + 1
    assert InvoiceCounter.objects.get(year=again.year).last_number == again.sequence


def test_an_invoice_is_made_only_for_a_completed_payment(a):
    payment = order(a.tenant, credits=10)

    with pytest.raises(ValueError), transaction.atomic():
        invoice_create_for(payment_id=payment.pk)  # still pending


@committed
def test_concurrent_completions_are_numbered_one_after_another(committed_tenant, settings):
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600  # its own check stays pending meanwhile
    workers, failing = 8, 3
    payments = [order(committed_tenant.tenant, credits=10 + i) for i in range(workers)]
    year = timezone.localtime().year
    before = InvoiceCounter.objects.filter(year=year).first()

    def complete(index: int) -> str | None:
        try:
            with transaction.atomic():
                outcome = confirm(payments[index])
                if index == failing:
                    raise RuntimeError("this completion rolls back")
                return outcome
        except RuntimeError:
            return "rolled back"

    try:
        outcomes = at_once(complete, workers)

        assert outcomes.count(Status.COMPLETED) == workers - 1
        assert outcomes[failing] == "rolled back"
        invoices = Invoice.objects.filter(payment__in=payments)
        start_at = before.last_number if before else 0
        sequences = sorted(invoices.values_list("sequence", flat=True))
        assert sequences == list(range(start_at + 1, start_at + workers))
        assert InvoiceCounter.objects.get(year=year).last_number == start_at + workers - 1
        assert sorted(invoices.values_list("number", flat=True)) == [
            f"MF-{year}-{n:06d}" for n in sequences
        ]
        payments[failing].refresh_from_db()
        assert payments[failing].status == Status.PENDING
    finally:
        Invoice.objects.filter(payment__in=payments).delete()
        CreditLedgerEntry.objects.filter(payment__in=payments).delete()
        PaymentTransaction.objects.filter(pk__in=[p.pk for p in payments]).delete()
        if before is None:
            InvoiceCounter.objects.filter(year=year).delete()
        else:
            before.save()


def test_the_pdf_is_a_pdf_with_the_number(api, a, business):
    coupon_save(coupon=Coupon(code="PDF5", discount_type="fixed", value=5000, currency="TZS"))
    invoice = paid(a.tenant, package=business, coupon_code="PDF5", name="Ĥamisi Ñyerere 🙂")

    response = api(a.agent).get(pdf_url(invoice))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'inline; filename="{invoice.number}.pdf"'
    assert response.content.startswith(b"%PDF")
    assert invoice.number.encode() in response.content
    assert b"/Count 1" in response.content  # one page


def test_another_tenants_invoice_is_not_found(api, a, b):
    invoice = paid(a.tenant, credits=10)

    assert_error(api(b.owner).get(invoice_url(invoice)), 404, "NOT_FOUND")
    assert_error(api(b.owner).get(pdf_url(invoice)), 404, "NOT_FOUND")
    assert ok_data(api(b.owner).get(INVOICES))["count"] == 0


def test_the_list_is_paged_newest_first(api, a, b):
    made = [paid(a.tenant, credits=10 * (i + 1)) for i in range(3)]
    order(a.tenant, credits=99)  # pending: no invoice

    page = ok_data(api(a.agent).get(INVOICES, {"page_size": 2}))
    assert page["count"] == 3
    assert [row["number"] for row in page["results"]] == [made[2].number, made[1].number]
    assert page["next"] is not None
    rest = ok_data(api(a.agent).get(INVOICES, {"page_size": 2, "page": 2}))
    assert [row["number"] for row in rest["results"]] == [made[0].number]
    assert_error(api(a.agent).get(INVOICES, {"page": 9}), 404, "NOT_FOUND")
    assert ok_data(api(b.agent).get(INVOICES))["results"] == []


def test_invoice_routes_need_a_signed_in_member(api, a):
    assert api().get(INVOICES).status_code == 401


def test_operators_read_invoices_in_the_admin_but_never_change_them(client, a):
    from accounts.models import User

    invoice = paid(a.tenant, credits=10)
    root = User.objects.create_superuser(email="root@example.com", password="Root-Pass-123")
    client.force_login(root)

    assert client.get("/admin/billing/invoice/").status_code == 200
    assert client.get(f"/admin/billing/invoice/{invoice.pk}/change/").status_code == 200
    assert client.get("/admin/billing/invoice/add/").status_code == 403
    assert client.post(f"/admin/billing/invoice/{invoice.pk}/delete/").status_code == 403
