"""Prepaid SMS credits: one balance row per tenant and the ledger that explains it, with the
lots of credits that expire; the SMS packages tenants buy, the coupons that discount them, the
plans tenants subscribe to, the payments that buy both and the mobile-money numbers tenants
save to pay with.

All live in the public schema. A credit is one SMS segment to one recipient. The balance is
changed only by billing.services, under SELECT ... FOR UPDATE, and never goes below zero.
"""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models.functions import Lower


class CreditBalance(models.Model):
    """A tenant's spendable credits; the sum of its ledger entries."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="credit_balance"
    )
    credits = models.BigIntegerField(default=0)
    spend_counted_until = models.DateTimeField(
        null=True, blank=True, help_text="Ledger entries up to here are counted against lots"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credits__gte=0), name="credit_balance_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.credits} credits"


class CreditLedgerEntry(models.Model):
    """One change to a balance. `credits` is signed: purchases and refunds add, reserves spend.

    Kinds: purchase and bonus (a paid order, or a plan's period), reserve (a send), refund
    (credits of messages never handed to a provider), correction (an operator's signed entry,
    with its reason), expiry (what was left of a lot when it expired), reversal (the credits of
    a payment whose money was given back), adjustment (older operator entries).

    `reference` names what caused it (a send request, a purchase, an operator's command).
    Entries a payment caused point to it (`payment`): one purchase and at most one bonus each,
    which a unique index holds however often the payment is confirmed.
    """

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        BONUS = "bonus", "Bonus"
        RESERVE = "reserve", "Reserve"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"
        CORRECTION = "correction", "Correction"
        EXPIRY = "expiry", "Expiry"
        REVERSAL = "reversal", "Payment refunded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="credit_entries"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    credits = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    payment = models.ForeignKey(
        "billing.PaymentTransaction",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="credit_entries",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="credit_entry_tenant")]
        constraints = [
            # A paid order credits once, whatever confirms it twice.
            models.UniqueConstraint(
                fields=["payment", "kind"],
                condition=models.Q(payment__isnull=False),
                name="credit_entry_once_per_payment",
            )
        ]
        verbose_name_plural = "credit ledger entries"

    def __str__(self) -> str:
        return f"{self.kind} {self.credits:+d} ({self.tenant_id})"


class SmsPackage(models.Model):
    """A bundle of credits at a price, which tenants buy (operators manage them in the admin).

    `sms_count` credits are bought and `bonus_sms` more are given, as their own ledger entry.
    """

    class PackageType(models.TextChoices):
        STARTER = "starter", "Starter"
        BUSINESS = "business", "Business"
        PROFESSIONAL = "professional", "Professional"
        ENTERPRISE = "enterprise", "Enterprise"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100, unique=True)
    package_type = models.CharField(
        max_length=16, choices=PackageType.choices, default=PackageType.STARTER
    )
    sms_count = models.PositiveIntegerField()
    bonus_sms = models.PositiveIntegerField(default=0)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="TZS")
    validity_days = models.PositiveIntegerField(
        null=True, blank=True, help_text="Days the credits last after purchase; empty: forever"
    )
    is_active = models.BooleanField(default=True)
    is_popular = models.BooleanField(default=False)
    features = models.JSONField(default=list, blank=True, help_text="A list of short lines")
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "price", "name"]
        constraints = [
            models.CheckConstraint(condition=models.Q(sms_count__gt=0), name="package_sms_count"),
            models.CheckConstraint(condition=models.Q(price__gt=0), name="package_price_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.sms_count} SMS, {self.price} {self.currency})"

    @property
    def credits(self) -> int:
        return self.sms_count + self.bonus_sms

    @property
    def unit_price(self) -> Decimal:
        """What one bought SMS costs, to four places (the bonus is free)."""
        return (self.price / self.sms_count).quantize(Decimal("0.0001"))


class Coupon(models.Model):
    """A discount on an order for credits, global to all tenants (operators make them in the
    admin, through billing.coupons.coupon_save).

    Rules (billing.coupons.coupon_validate refuses each with 400 INVALID_COUPON):
    - `code` is unique whatever its case, and matched whatever case is typed;
    - it applies while `is_active` and `valid_from <= now < valid_until` (either end open);
    - `percent` takes `value`% off the price (0 < value < 100: a free order is never made);
      `fixed` takes `value` in `currency` off, for orders in that currency only;
    - the charge never falls below MINIMUM_CHARGE: a larger discount is cut to fit;
    - `packages`, when any are chosen, are the only ones it applies to (and never to credits
      bought without a package);
    - `uses` counts the orders made with it, all tenants together; each order takes one use, in
      the transaction that makes the order, only while `uses < max_uses` (empty: no limit);
    - `is_public` coupons are listed to every tenant; the others are never listed, only
      accepted from whoever has the code.
    """

    MINIMUM_CHARGE = Decimal("1")

    class DiscountType(models.TextChoices):
        PERCENT = "percent", "Percent off"
        FIXED = "fixed", "Amount off"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.CharField(max_length=40, help_text="Stored upper case; matched in any case")
    description = models.CharField(max_length=255, blank=True)
    discount_type = models.CharField(max_length=8, choices=DiscountType.choices)
    value = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.01"))]
    )
    currency = models.CharField(
        max_length=3, blank=True, help_text="The currency of a fixed discount; empty for percent"
    )
    valid_from = models.DateTimeField(null=True, blank=True)
    valid_until = models.DateTimeField(null=True, blank=True)
    max_uses = models.PositiveIntegerField(
        null=True, blank=True, help_text="Orders it may discount, all tenants together; empty: any"
    )
    uses = models.PositiveIntegerField(default=0, editable=False)
    is_active = models.BooleanField(default=True)
    is_public = models.BooleanField(
        default=False, help_text="Listed to every tenant; otherwise only its code admits it"
    )
    packages = models.ManyToManyField(
        SmsPackage, blank=True, related_name="coupons", help_text="Empty: every package"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(Lower("code"), name="coupon_code_unique_any_case"),
            models.CheckConstraint(condition=models.Q(value__gt=0), name="coupon_value_positive"),
            models.CheckConstraint(
                condition=~models.Q(discount_type="percent") | models.Q(value__lt=100),
                name="coupon_percent_below_100",
            ),
            models.CheckConstraint(
                condition=models.Q(max_uses__isnull=True)
                | models.Q(uses__lte=models.F("max_uses")),
                name="coupon_uses_within_max",
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def clean(self) -> None:
        if self.discount_type == self.DiscountType.FIXED and not self.currency:
            raise ValidationError({"currency": "A fixed discount names its currency."})
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValidationError({"valid_until": "The end comes after the start."})


class PaymentTransaction(models.Model):
    """One order for credits, paid through a provider (billing.payments).

    Status, each move one conditional UPDATE in billing.payments.services:
        pending -> completed  payment_confirm: the provider's status answer says paid, in time,
                              the amount and currency the order asked (credits, and the bonus,
                              are written in the same transaction)
        pending -> review     payment_confirm: paid, but another amount or currency; grants
                              nothing, an operator decides
        expired -> review     payment_confirm: paid after the order expired; grants nothing
        pending -> failed | cancelled   payment_fail: the provider's answer says so
        pending -> expired    payments_expire: PAYMENT_EXPIRY_MINUTES passed unpaid
        completed -> refunded payment_refund: an operator gave the money back (the credits
                              still unspent are taken back by a reversal entry)
    failed, cancelled, review and refunded never change again.

    An order buys a package, a number of credits, or (`subscription`) one period of a plan:
    `period_start`..`period_end`, whose included messages are its credits.
    """

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        COMPLETED = "completed", "Completed"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"
        EXPIRED = "expired", "Expired"
        REVIEW = "review", "Needs review"
        REFUNDED = "refunded", "Refunded"

    class Provider(models.TextChoices):
        SANDBOX = "sandbox", "Sandbox"
        ZENOPAY = "zenopay", "ZenoPay"
        STRIPE = "stripe", "Stripe"

    class Method(models.TextChoices):
        MOBILE_MONEY = "mobile_money", "Mobile money"
        CARD = "card", "Card"

    class Network(models.TextChoices):
        VODACOM = "vodacom", "Vodacom M-Pesa"
        TIGO = "tigo", "Tigo Pesa"
        AIRTEL = "airtel", "Airtel Money"
        HALOTEL = "halotel", "Halopesa"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="payment_transactions"
    )
    order_id = models.CharField(max_length=64, unique=True)
    package = models.ForeignKey(
        SmsPackage, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    credits = models.PositiveIntegerField()
    bonus_credits = models.PositiveIntegerField(default=0)
    amount = models.DecimalField(
        max_digits=12, decimal_places=2, help_text="What is charged: the price less the discount"
    )
    currency = models.CharField(max_length=3)
    subscription = models.ForeignKey(
        "billing.Subscription",
        null=True,
        blank=True,
        on_delete=models.RESTRICT,
        related_name="payments",
    )
    period_start = models.DateTimeField(null=True, blank=True)
    period_end = models.DateTimeField(null=True, blank=True)
    coupon = models.ForeignKey(
        Coupon, null=True, blank=True, on_delete=models.PROTECT, related_name="transactions"
    )
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    provider = models.CharField(max_length=16, choices=Provider.choices)
    payment_method = models.CharField(max_length=16, choices=Method.choices)
    mobile_money_provider = models.CharField(max_length=16, choices=Network.choices, blank=True)
    buyer_name = models.CharField(max_length=150, blank=True)
    buyer_email = models.EmailField(blank=True)
    buyer_phone = models.CharField(max_length=20, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    payment_url = models.URLField(blank=True)
    provider_reference = models.CharField(max_length=100, blank=True)
    provider_transid = models.CharField(max_length=100, blank=True)
    paid_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    paid_currency = models.CharField(max_length=3, blank=True)
    failure_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    expires_at = models.DateTimeField()
    completed_at = models.DateTimeField(null=True, blank=True)
    refunded_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    refund_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["tenant", "-created_at"], name="payment_tenant"),
            models.Index(
                fields=["expires_at"],
                condition=models.Q(status="pending"),
                name="payment_pending_expiry",
            ),
        ]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="payment_amount_positive")
        ]

    def __str__(self) -> str:
        return f"{self.order_id} {self.amount} {self.currency} ({self.status})"

    @property
    def purchase(self) -> dict[str, object] | None:
        """The package bought, as the purchase routes show it (None for bought credits)."""
        if self.package is None:
            return None
        return {
            "package_name": self.package.name,
            "sms_count": self.package.sms_count,
            "price": self.package.price,
        }


class CreditLot(models.Model):
    """Credits that expire: the purchase (and bonus) of one payment whose package has
    `validity_days`, or a plan period's included messages (billing.expiry).

    Spending takes from the lot that expires first. `remaining` is what is left of the lot as
    of the last expiry run, which counts the tenant's spending since the one before
    (CreditBalance.spend_counted_until) against its lots, soonest expiry first. Once
    `expires_at` passes, the run writes an `expiry` ledger entry of what remains (never more
    than the balance), sets `remaining` to 0 and stamps `expired_at`.
    """

    id = models.BigAutoField(primary_key=True)
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="+")
    payment = models.OneToOneField(
        "billing.PaymentTransaction", on_delete=models.CASCADE, related_name="credit_lot"
    )
    credits = models.PositiveIntegerField()
    remaining = models.PositiveIntegerField()
    expires_at = models.DateTimeField()
    expired_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["expires_at", "id"]
        indexes = [
            models.Index(
                fields=["tenant", "expires_at"],
                condition=models.Q(remaining__gt=0),
                name="credit_lot_live",
            ),
            models.Index(
                fields=["expires_at"],
                condition=models.Q(expired_at__isnull=True),
                name="credit_lot_due",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(remaining__lte=models.F("credits")),
                name="credit_lot_remaining_within",
            )
        ]

    def __str__(self) -> str:
        return f"{self.remaining}/{self.credits} until {self.expires_at:%Y-%m-%d}"


class Plan(models.Model):
    """A subscription plan (operators manage them in the admin, through plan_save).

    A plan has a price per month and per year; a paid period grants `messages_per_month`
    credits for each of its months, which expire at the period's end (a CreditLot). `users`
    caps members plus pending invitations (tenants.Tenant.user_limit, set from the plan).
    Empty limits are unlimited. The one `is_default` plan (free) is what a tenant without a
    subscription has.
    """

    class Cycle(models.TextChoices):
        MONTHLY = "monthly", "Monthly"
        YEARLY = "yearly", "Yearly"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100, unique=True)
    description = models.CharField(max_length=255, blank=True)
    price_monthly = models.DecimalField(max_digits=12, decimal_places=2)
    price_yearly = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="TZS")
    features = models.JSONField(default=list, blank=True, help_text="A list of short lines")
    messages_per_month = models.PositiveIntegerField(
        null=True, blank=True, help_text="Included SMS credits per month; empty: none counted"
    )
    users = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="Members plus pending invitations; empty: any number"
    )
    trial_days = models.PositiveSmallIntegerField(default=0)
    is_default = models.BooleanField(
        default=False, help_text="The plan of tenants without a subscription (one at most)"
    )
    is_active = models.BooleanField(default=True)
    sort_order = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["sort_order", "price_monthly", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=models.Q(is_default=True), name="plan_one_default"
            ),
            models.CheckConstraint(
                condition=models.Q(price_monthly__gte=0, price_yearly__gte=0),
                name="plan_prices_not_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def price_for(self, cycle: str) -> Decimal:
        return self.price_yearly if cycle == self.Cycle.YEARLY else self.price_monthly


class Subscription(models.Model):
    """A tenant's subscription to a plan (billing.subscriptions). Statuses are Stripe's words:

        incomplete -> active      the first period is paid
        incomplete -> canceled    unpaid: its order failed or expired, or another replaced it
        trialing -> active        a period is paid during or after the trial
        trialing -> past_due      the trial ended unpaid
        active -> past_due        the period ended unpaid (mobile money), or Stripe says so
        past_due -> active        a period is paid
        past_due -> canceled      SUBSCRIPTION_GRACE_DAYS passed unpaid
        active | trialing -> canceled   at the period's end once cancel_at_period_end is set
    canceled never changes again. A tenant has at most one subscription that is not canceled.

    Mobile money cannot be charged without the customer's PIN: each period is an order
    (PaymentTransaction.subscription) paid through the payment flow, and a renewal is a
    reminder and a new order. With Stripe it is a Stripe subscription
    (`stripe_subscription_id`) whose events move it.
    """

    class Status(models.TextChoices):
        TRIALING = "trialing", "Trialing"
        ACTIVE = "active", "Active"
        PAST_DUE = "past_due", "Past due"
        CANCELED = "canceled", "Canceled"
        INCOMPLETE = "incomplete", "Incomplete"

    # The statuses in which the subscription's plan holds for its tenant (an incomplete one
    # has not started).
    STARTED = (Status.TRIALING, Status.ACTIVE, Status.PAST_DUE)

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="subscriptions"
    )
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="subscriptions")
    billing_cycle = models.CharField(max_length=8, choices=Plan.Cycle.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.INCOMPLETE)
    provider = models.CharField(max_length=16, choices=PaymentTransaction.Provider.choices)
    payment_method = models.CharField(max_length=16, choices=PaymentTransaction.Method.choices)
    current_period_start = models.DateTimeField(null=True, blank=True)
    current_period_end = models.DateTimeField(null=True, blank=True)
    trial_end = models.DateTimeField(null=True, blank=True)
    cancel_at_period_end = models.BooleanField(default=False)
    canceled_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    renewal_reminded_at = models.DateTimeField(null=True, blank=True)
    stripe_subscription_id = models.CharField(max_length=255, blank=True)
    stripe_customer_id = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=~models.Q(status="canceled"),
                name="subscription_one_live_per_tenant",
            ),
            models.UniqueConstraint(
                fields=["stripe_subscription_id"],
                condition=~models.Q(stripe_subscription_id=""),
                name="subscription_stripe_id_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.plan} ({self.status})"


class PaymentMethod(models.Model):
    """A mobile-money number a tenant saved to pay with (billing.payment_methods).

    `phone_number` is E.164, read in the tenant's country. A tenant has at most one default
    (a partial unique index): its first saved number, until another is made the default.
    """

    Network = PaymentTransaction.Network

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="payment_methods"
    )
    network = models.CharField(max_length=16, choices=Network.choices)
    phone_number = models.CharField(max_length=20)
    label = models.CharField(max_length=60, blank=True)
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-is_default", "created_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["tenant"],
                condition=models.Q(is_default=True),
                name="payment_method_one_default",
            ),
            models.UniqueConstraint(
                fields=["tenant", "phone_number"], name="payment_method_number_once"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_network_display()} {self.phone_number}"


class InvoiceCounter(models.Model):
    """The last invoice number given in a year. billing.invoices takes the next one with an
    UPDATE that holds this row's lock until the paying transaction ends, so numbers follow one
    another without a gap: a rolled-back completion gives its number back."""

    year = models.PositiveSmallIntegerField(primary_key=True)
    last_number = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.year}: {self.last_number}"


class Invoice(models.Model):
    """The invoice of one completed payment, made in the transaction that completes it
    (billing.invoices.invoice_create_for) and never changed after.

    `number` is "MF-<year>-<six digits>", consecutive within the year it was issued in.
    Prices include VAT: `total` is what was paid, `subtotal` the price before the coupon's
    `discount`, and `tax` the part of `total` that is VAT at `tax_rate`
    (total * rate / (1 + rate), to the cent). `lines` are what was bought:
    [{description, quantity, unit_price, amount}], amounts as strings of decimals.
    """

    class Status(models.TextChoices):
        PAID = "paid", "Paid"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # A completed payment is never deleted: its ledger entries protect it.
    payment = models.OneToOneField(
        PaymentTransaction, on_delete=models.CASCADE, related_name="invoice"
    )
    tenant = models.ForeignKey("tenants.Tenant", on_delete=models.CASCADE, related_name="invoices")
    number = models.CharField(max_length=32, unique=True)
    year = models.PositiveSmallIntegerField()
    sequence = models.PositiveIntegerField()
    issued_at = models.DateTimeField()
    buyer_name = models.CharField(max_length=150, blank=True)
    buyer_email = models.EmailField(blank=True)
    lines = models.JSONField(default=list)
    subtotal = models.DecimalField(max_digits=12, decimal_places=2)
    discount = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    tax_rate = models.DecimalField(max_digits=5, decimal_places=4)
    tax = models.DecimalField(max_digits=12, decimal_places=2, help_text="Included in total")
    total = models.DecimalField(max_digits=12, decimal_places=2, help_text="What was paid")
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PAID)

    class Meta:
        ordering = ["-issued_at", "-sequence"]
        indexes = [models.Index(fields=["tenant", "-issued_at"], name="invoice_tenant")]
        constraints = [
            models.UniqueConstraint(fields=["year", "sequence"], name="invoice_sequence_per_year")
        ]

    def __str__(self) -> str:
        return self.number
