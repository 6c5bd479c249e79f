"""Request and response shapes of the /api/billing/ routes."""

from typing import Any

from rest_framework import serializers

from billing.models import (
    Coupon,
    CreditLedgerEntry,
    Invoice,
    PaymentMethod,
    PaymentTransaction,
    SmsPackage,
)

Method = PaymentTransaction.Method
Network = PaymentTransaction.Network


class SmsPackageSerializer(serializers.ModelSerializer[SmsPackage]):
    credits = serializers.IntegerField(read_only=True, help_text="sms_count plus bonus_sms")
    unit_price = serializers.DecimalField(
        max_digits=12, decimal_places=4, read_only=True, help_text="price / sms_count"
    )
    price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    features = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = SmsPackage
        fields = [
            "id",
            "name",
            "sms_count",
            "price",
            "currency",
            "bonus_sms",
            "validity_days",
            "is_active",
            "credits",
            "unit_price",
            "package_type",
            "is_popular",
            "features",
        ]
        read_only_fields = fields


class PurchaseSummarySerializer(serializers.Serializer[Any]):
    package_name = serializers.CharField()
    sms_count = serializers.IntegerField()
    price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)


class PaymentTransactionSerializer(serializers.ModelSerializer[PaymentTransaction]):
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    discount = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, help_text="The coupon's part"
    )
    coupon_code = serializers.CharField(
        source="coupon.code", read_only=True, allow_null=True, default=None
    )
    purchase = PurchaseSummarySerializer(read_only=True, allow_null=True)

    class Meta:
        model = PaymentTransaction
        fields = [
            "id",
            "order_id",
            "amount",
            "currency",
            "discount",
            "coupon_code",
            "status",
            "payment_url",
            "expires_at",
            "provider",
            "payment_method",
            "mobile_money_provider",
            "credits",
            "bonus_credits",
            "failure_reason",
            "completed_at",
            "created_at",
            "purchase",
        ]
        read_only_fields = fields


class PurchaseInputSerializer(serializers.Serializer[Any]):
    package_id = serializers.UUIDField()
    payment_method = serializers.ChoiceField(Method.choices)
    provider = serializers.CharField(
        required=False, allow_blank=True, max_length=16, help_text="The mobile money network"
    )
    phone_number = serializers.CharField(required=False, allow_blank=True, max_length=32)
    coupon_code = serializers.CharField(required=False, allow_blank=True, max_length=64)


class InitiateInputSerializer(serializers.Serializer[Any]):
    package_id = serializers.UUIDField(required=False)
    credits = serializers.IntegerField(required=False, min_value=1, max_value=10_000_000)
    buyer_name = serializers.CharField(required=False, allow_blank=True, max_length=150)
    buyer_email = serializers.EmailField(required=False, allow_blank=True)
    buyer_phone = serializers.CharField(required=False, allow_blank=True, max_length=32)
    mobile_money_provider = serializers.ChoiceField(
        Network.choices, required=False, allow_blank=True
    )
    payment_method = serializers.ChoiceField(Method.choices, default=Method.MOBILE_MONEY)
    coupon_code = serializers.CharField(required=False, allow_blank=True, max_length=64)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("package_id" in attrs) == ("credits" in attrs):
            raise serializers.ValidationError(
                {"package_id": ["Give a package_id or a number of credits, not both."]}
            )
        return attrs


class CouponSerializer(serializers.ModelSerializer[Coupon]):
    value = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    remaining_uses = serializers.SerializerMethodField(help_text="null: no limit")
    package_ids: "serializers.PrimaryKeyRelatedField[SmsPackage]" = (
        serializers.PrimaryKeyRelatedField(
            source="packages", many=True, read_only=True, help_text="Empty: every package"
        )
    )

    class Meta:
        model = Coupon
        fields = [
            "code",
            "description",
            "discount_type",
            "value",
            "currency",
            "valid_from",
            "valid_until",
            "remaining_uses",
            "package_ids",
        ]
        read_only_fields = fields

    def get_remaining_uses(self, coupon: Coupon) -> int | None:
        return None if coupon.max_uses is None else max(0, coupon.max_uses - coupon.uses)


class CouponValidateInputSerializer(serializers.Serializer[Any]):
    code = serializers.CharField(max_length=64)
    package_id = serializers.UUIDField(required=False)


class CouponCheckSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    coupon = CouponSerializer()
    discount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
        help_text="Off the package's price (null without package_id)",
    )
    amount = serializers.DecimalField(
        max_digits=12,
        decimal_places=2,
        coerce_to_string=False,
        allow_null=True,
        help_text="What the package would cost with it (null without package_id)",
    )


class ProviderSerializer(serializers.Serializer[Any]):
    payment_method = serializers.ChoiceField(Method.choices)
    provider = serializers.CharField(allow_blank=True, help_text="Empty when none is set up")
    name = serializers.CharField()
    currencies = serializers.ListField(child=serializers.CharField())
    networks = serializers.ListField(child=serializers.DictField())
    available = serializers.BooleanField()


class ProviderListSerializer(serializers.ListSerializer[list[dict[str, Any]]]):
    child = ProviderSerializer()


class BalanceDetailSerializer(serializers.Serializer[Any]):
    credits = serializers.IntegerField()
    currency = serializers.CharField()
    last_updated = serializers.DateTimeField(allow_null=True)


class UsageSerializer(serializers.Serializer[Any]):
    used_this_month = serializers.IntegerField()
    remaining = serializers.IntegerField()


class CreditBalanceSerializer(serializers.Serializer[Any]):
    credits = serializers.IntegerField()
    total_purchased = serializers.IntegerField()
    total_used = serializers.IntegerField()
    last_updated = serializers.DateTimeField(allow_null=True)
    balance = BalanceDetailSerializer()
    usage = UsageSerializer()
    next_expiry = serializers.DateTimeField(
        allow_null=True, help_text="When the soonest expiring credits lapse (null: none expire)"
    )
    next_expiry_credits = serializers.IntegerField(
        allow_null=True, help_text="How many credits lapse then (what is left of them)"
    )


class PurchaseHistoryQuerySerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(PaymentTransaction.Status.choices, required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


_Kind = CreditLedgerEntry.Kind
# The history's types, each the ledger kinds it lists ("payment" lists payments instead).
HISTORY_KINDS: dict[str, list[str]] = {
    "purchase": [_Kind.PURCHASE, _Kind.BONUS],
    "usage": [_Kind.RESERVE, _Kind.REFUND],
    "adjustment": [_Kind.CORRECTION, _Kind.REVERSAL, _Kind.ADJUSTMENT],
    "expiry": [_Kind.EXPIRY],
}
HISTORY_TYPES = [*HISTORY_KINDS, "payment"]


class HistoryQuerySerializer(serializers.Serializer[Any]):
    type = serializers.ChoiceField(HISTORY_TYPES, required=False)
    page = serializers.IntegerField(required=False, min_value=1)
    page_size = serializers.IntegerField(required=False, min_value=1)


class HistoryItemSerializer(serializers.Serializer[Any]):
    id = serializers.UUIDField()
    type = serializers.ChoiceField(HISTORY_TYPES)
    kind = serializers.CharField(help_text="The ledger entry's kind, or the payment's status")
    description = serializers.CharField(allow_blank=True)
    credits = serializers.IntegerField()
    balance_after = serializers.IntegerField(allow_null=True)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, allow_null=True
    )
    currency = serializers.CharField(allow_null=True)
    reference = serializers.CharField(allow_blank=True)
    created_at = serializers.DateTimeField()


class CostQuerySerializer(serializers.Serializer[Any]):
    message = serializers.CharField(max_length=10_000, trim_whitespace=False)
    recipient_count = serializers.IntegerField(min_value=1, max_value=10_000_000, default=1)


class CostSerializer(serializers.Serializer[Any]):
    segments = serializers.IntegerField()
    encoding = serializers.CharField()
    characters = serializers.IntegerField()
    recipient_count = serializers.IntegerField()
    credits = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)
    price = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)
    currency = serializers.CharField()


class InvoiceLineSerializer(serializers.Serializer[Any]):
    description = serializers.CharField()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=14, decimal_places=4, coerce_to_string=False)
    amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=False)


class InvoiceSerializer(serializers.ModelSerializer[Invoice]):
    lines = InvoiceLineSerializer(many=True, read_only=True)
    subtotal = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, help_text="Before the discount"
    )
    discount = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, help_text="The coupon's part"
    )
    coupon_code = serializers.CharField(
        source="payment.coupon.code", read_only=True, allow_null=True, default=None
    )
    tax_rate = serializers.DecimalField(max_digits=5, decimal_places=4, coerce_to_string=False)
    tax = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, help_text="VAT, included in total"
    )
    tax_included = serializers.BooleanField(
        default=True, read_only=True, help_text="Prices include the tax"
    )
    total = serializers.DecimalField(
        max_digits=12, decimal_places=2, coerce_to_string=False, help_text="What was paid"
    )
    transaction_id = serializers.UUIDField(source="payment_id", read_only=True)
    order_id = serializers.CharField(source="payment.order_id", read_only=True)

    class Meta:
        model = Invoice
        fields = [
            "id",
            "number",
            "status",
            "issued_at",
            "buyer_name",
            "buyer_email",
            "lines",
            "subtotal",
            "discount",
            "coupon_code",
            "tax_rate",
            "tax",
            "tax_included",
            "total",
            "currency",
            "transaction_id",
            "order_id",
        ]
        read_only_fields = fields


class PaymentMethodSerializer(serializers.ModelSerializer[PaymentMethod]):
    type = serializers.ReadOnlyField(default="mobile_money", help_text="Only mobile money today")
    network_name = serializers.CharField(source="get_network_display", read_only=True)

    class Meta:
        model = PaymentMethod
        fields = [
            "id",
            "type",
            "network",
            "network_name",
            "phone_number",
            "label",
            "is_default",
            "created_at",
        ]
        read_only_fields = fields


class PaymentMethodInputSerializer(serializers.ModelSerializer[PaymentMethod]):
    class Meta:
        model = PaymentMethod
        fields = ["network", "phone_number", "label", "is_default"]
        extra_kwargs = {
            "phone_number": {
                "max_length": 32,
                "help_text": "Local or international; stored in E.164",
            },
            "is_default": {"help_text": "Make it the default (the first saved always is)"},
        }


class UsageQuerySerializer(serializers.Serializer[Any]):
    # Years 2000-2999: a month's bounds are dates, which stop at year 1 and 9999.
    period = serializers.RegexField(
        r"^2\d{3}-(0[1-9]|1[0-2])$",
        required=False,
        help_text="YYYY-MM (2000-2999); default: this month",
        error_messages={"invalid": "Give a month as YYYY-MM, between 2000-01 and 2999-12."},
    )


class UsageDaySerializer(serializers.Serializer[Any]):
    date = serializers.DateField()
    credits = serializers.IntegerField(help_text="Reserved less refunded")
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)


class UsageTotalsSerializer(serializers.Serializer[Any]):
    credits_reserved = serializers.IntegerField()
    credits_refunded = serializers.IntegerField()
    credits = serializers.IntegerField(help_text="Reserved less refunded")
    cost = serializers.DecimalField(max_digits=14, decimal_places=2, coerce_to_string=False)


class UsagePeriodSerializer(serializers.Serializer[Any]):
    period = serializers.CharField(help_text="YYYY-MM")
    start = serializers.DateField()
    end = serializers.DateField(help_text="The period's last day")
    currency = serializers.CharField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=4, coerce_to_string=False)
    totals = UsageTotalsSerializer()
    days = UsageDaySerializer(many=True, help_text="Every day of the period up to today")
