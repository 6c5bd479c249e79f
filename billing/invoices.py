"""Invoices: one for each completed payment (credits, a package or a plan's period), made in
the transaction that completes it, numbered without gaps within a year; a tenant's invoices as
the routes read them; and each one as a PDF.

Numbers come from InvoiceCounter: one upsert takes the year's next number and holds the row's
lock until the paying transaction ends, so concurrent completions are numbered one after the
other, and a completion that rolls back gives its number back. Prices include VAT
(BILLING_TAX_RATE): the invoice shows the tax that the amount paid contains.
"""

import uuid
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, cast

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone
from fpdf import FPDF

from billing.models import Invoice, PaymentTransaction, Subscription
from mifumo.selectors import get_or_404

CENT = Decimal("0.01")
UNIT = Decimal("0.0001")
NUMBER_PREFIX = "MF"

# One statement: the first invoice of a year makes its row, the others take the next number.
# The row stays locked (and the number taken) only until the caller's transaction ends.
_NEXT_NUMBER_SQL = """
INSERT INTO billing_invoicecounter (year, last_number) VALUES (%(year)s, 1)
ON CONFLICT (year) DO UPDATE SET last_number = billing_invoicecounter.last_number + 1
RETURNING last_number
"""


def _next_sequence(*, year: int) -> int:
    with connection.cursor() as cursor:
        cursor.execute(_NEXT_NUMBER_SQL, {"year": year})
        row = cursor.fetchone()
    return cast(int, row[0])


def tax_included(*, total: Decimal, rate: Decimal) -> Decimal:
    """The VAT that `total` contains at `rate` (total * rate / (1 + rate)), to the cent."""
    return (total * rate / (1 + rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def _period_line(payment: PaymentTransaction, subtotal: Decimal) -> dict[str, Any]:
    """The line of a plan's period: "Plan Business, monthly, 2025-03-01 to 2025-04-01" (the
    dates in the current time zone)."""
    subscription = cast(Subscription, payment.subscription)
    period = ""
    if payment.period_start is not None and payment.period_end is not None:
        start = timezone.localtime(payment.period_start).date()
        end = timezone.localtime(payment.period_end).date()
        period = f", {start:%Y-%m-%d} to {end:%Y-%m-%d}"
    return {
        "description": f"Plan {subscription.plan.name}, {subscription.billing_cycle}{period}",
        "quantity": 1,
        "unit_price": str(subtotal),
        "amount": str(subtotal),
    }


def _lines(payment: PaymentTransaction, subtotal: Decimal) -> list[dict[str, Any]]:
    if payment.subscription is not None:
        return [_period_line(payment, subtotal)]
    if payment.package is not None:
        bought = {
            "description": f"{payment.package.name} SMS package: {payment.credits:,} SMS",
            "quantity": 1,
            "unit_price": str(subtotal),
            "amount": str(subtotal),
        }
    else:
        bought = {
            "description": "SMS credits",
            "quantity": payment.credits,
            "unit_price": str((subtotal / payment.credits).quantize(UNIT)),
            "amount": str(subtotal),
        }
    lines = [bought]
    if payment.bonus_credits:
        lines.append(
            {
                "description": "Bonus SMS",
                "quantity": payment.bonus_credits,
                "unit_price": "0.00",
                "amount": "0.00",
            }
        )
    return lines


def invoice_create_for(*, payment_id: uuid.UUID) -> Invoice:
    """The invoice of a completed payment, made with the next number of the year; the payment's
    own when it has one already. It runs in the transaction that completes the payment (which
    must be open), so a completion that rolls back leaves neither invoice nor used number."""
    if not connection.in_atomic_block:
        raise RuntimeError("invoice_create_for runs in the transaction that completes the payment.")
    existing = Invoice.objects.filter(payment_id=payment_id).first()
    if existing is not None:
        return existing
    payment = PaymentTransaction.objects.select_related("package", "subscription__plan").get(
        pk=payment_id
    )
    if payment.status != PaymentTransaction.Status.COMPLETED:
        raise ValueError(f"Payment {payment.order_id} is {payment.status}, not completed.")
    issued_at = timezone.now()
    year = timezone.localtime(issued_at).year
    sequence = _next_sequence(year=year)
    total = payment.paid_amount if payment.paid_amount is not None else payment.amount
    subtotal = total + payment.discount
    rate: Decimal = settings.BILLING_TAX_RATE
    return Invoice.objects.create(
        payment=payment,
        tenant_id=payment.tenant_id,
        number=f"{NUMBER_PREFIX}-{year}-{sequence:06d}",
        year=year,
        sequence=sequence,
        issued_at=issued_at,
        buyer_name=payment.buyer_name,
        buyer_email=payment.buyer_email,
        lines=_lines(payment, subtotal),
        subtotal=subtotal,
        discount=payment.discount,
        tax_rate=rate,
        tax=tax_included(total=total, rate=rate),
        total=total,
        currency=payment.currency,
    )


def invoices_of(*, tenant_id: uuid.UUID) -> QuerySet[Invoice]:
    """The tenant's invoices, newest first."""
    return Invoice.objects.filter(tenant_id=tenant_id).select_related("payment__coupon")


def invoice_get(*, tenant_id: uuid.UUID, invoice_id: object) -> Invoice:
    """The tenant's invoice, or the uniform 404 (another tenant's is not found)."""
    return get_or_404(invoices_of(tenant_id=tenant_id), invoice_id, "Invoice")


def _text(value: object) -> str:
    """The PDF's built-in fonts write Latin-1 only: any other character shows as '?'."""
    return str(value).encode("latin-1", "replace").decode("latin-1")


def _money(amount: Decimal | str, currency: str) -> str:
    return f"{Decimal(amount):,.2f} {currency}"


def invoice_pdf(*, invoice: Invoice) -> bytes:
    """The invoice as a one-page A4 PDF: seller, buyer, number and date, lines and totals."""
    pdf = FPDF(format="A4")
    pdf.set_title(invoice.number)
    pdf.set_author(settings.BILLING_SELLER_NAME)
    pdf.set_auto_page_break(auto=False)
    pdf.add_page()
    width = pdf.epw

    pdf.set_font("Helvetica", "B", 16)
    pdf.cell(width / 2, 8, _text(settings.BILLING_SELLER_NAME))
    pdf.cell(width / 2, 8, "INVOICE", align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    seller = [settings.BILLING_SELLER_ADDRESS]
    if settings.BILLING_SELLER_TIN:
        seller.append(f"TIN: {settings.BILLING_SELLER_TIN}")
    facts = [
        f"Number: {invoice.number}",
        f"Date: {timezone.localtime(invoice.issued_at):%d %B %Y}",
        f"Status: {invoice.get_status_display().upper()}",
    ]
    for row in range(max(len(seller), len(facts))):
        pdf.cell(width / 2, 5, _text(seller[row]) if row < len(seller) else "")
        pdf.cell(width / 2, 5, facts[row] if row < len(facts) else "", align="R")
        pdf.ln(5)

    pdf.ln(8)
    pdf.set_font("Helvetica", "B", 10)
    pdf.cell(0, 5, "Bill to", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "", 10)
    for line in (invoice.buyer_name, invoice.buyer_email, f"Order {invoice.payment.order_id}"):
        if line:
            pdf.cell(0, 5, _text(line), new_x="LMARGIN", new_y="NEXT")

    pdf.ln(8)
    columns = (width * 0.52, width * 0.12, width * 0.18, width * 0.18)
    pdf.set_font("Helvetica", "B", 10)
    pdf.set_fill_color(235, 235, 235)
    for title, column, align in zip(
        ("Description", "Quantity", "Unit price", "Amount"), columns, "LRRR", strict=True
    ):
        pdf.cell(column, 7, title, border="B", align=align, fill=True)
    pdf.ln(7)
    pdf.set_font("Helvetica", "", 10)
    for item in invoice.lines:
        pdf.cell(columns[0], 7, _text(item["description"]))
        pdf.cell(columns[1], 7, f"{item['quantity']:,}", align="R")
        pdf.cell(columns[2], 7, f"{Decimal(item['unit_price']):,.2f}", align="R")
        pdf.cell(columns[3], 7, f"{Decimal(item['amount']):,.2f}", align="R")
        pdf.ln(7)

    pdf.ln(4)
    coupon = invoice.payment.coupon
    rate = (invoice.tax_rate * 100).normalize()
    totals = [("Subtotal", _money(invoice.subtotal, invoice.currency))]
    if invoice.discount:
        label = f"Discount ({coupon.code})" if coupon else "Discount"
        totals.append((label, "-" + _money(invoice.discount, invoice.currency)))
    totals.append((f"VAT {rate:f}% (included)", _money(invoice.tax, invoice.currency)))
    for label, amount in totals:
        pdf.cell(width * 0.7, 6, _text(label), align="R")
        pdf.cell(width * 0.3, 6, amount, align="R", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("Helvetica", "B", 11)
    pdf.cell(width * 0.7, 8, "Total paid", border="T", align="R")
    pdf.cell(
        width * 0.3,
        8,
        _money(invoice.total, invoice.currency),
        border="T",
        align="R",
        new_x="LMARGIN",
        new_y="NEXT",
    )

    pdf.ln(10)
    pdf.set_font("Helvetica", "", 9)
    pdf.multi_cell(
        0,
        5,
        f"Prices include VAT at {rate:f}%. Paid in full; thank you for your business.",
    )
    return bytes(pdf.output())
