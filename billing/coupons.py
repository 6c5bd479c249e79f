"""Coupons: which apply to an order and what they take off it, the one statement that counts a
use against max_uses, the public list, and operators' saves. The rules are Coupon's docstring.

A use is taken by coupon_use's conditional UPDATE inside the transaction that makes the order
(billing.payments.services.payment_initiate), so however many orders race for the last use,
exactly max_uses of them get one and each order takes one.
"""

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import cast

from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from billing.models import Coupon, SmsPackage
from mifumo.errors import ApplicationError, ErrorCode, field_error

CENT = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class Discount:
    coupon: Coupon
    discount: Decimal
    amount: Decimal  # what is charged: the price less the discount


def _invalid(message: str) -> ApplicationError:
    return field_error("coupon_code", message, code=ErrorCode.INVALID_COUPON)


def _in_window() -> Q:
    now = timezone.now()
    return (Q(valid_from__isnull=True) | Q(valid_from__lte=now)) & (
        Q(valid_until__isnull=True) | Q(valid_until__gt=now)
    )


def coupons_listed() -> QuerySet[Coupon]:
    """The public coupons a tenant may use now: active, in their window, not used up.
    Coupons that are not public are never listed, so their codes do not leak."""
    return (
        Coupon.objects.filter(_in_window(), is_active=True, is_public=True)
        .filter(Q(max_uses__isnull=True) | Q(uses__lt=F("max_uses")))
        .prefetch_related("packages")
    )


def coupon_validate(*, code: str, package: SmsPackage | None = None, currency: str = "") -> Coupon:
    """The coupon `code` names if an order for `package` (or for credits without one, in
    `currency`) may use it now; otherwise 400 INVALID_COUPON saying why. It takes no use."""
    coupon = Coupon.objects.filter(code__iexact=code.strip()).first()
    if coupon is None:
        raise _invalid("This coupon code does not exist.")
    now = timezone.now()
    if not coupon.is_active:
        raise _invalid("This coupon is no longer active.")
    if coupon.valid_from is not None and now < coupon.valid_from:
        raise _invalid(f"This coupon is valid from {coupon.valid_from:%Y-%m-%d %H:%M} UTC.")
    if coupon.valid_until is not None and now >= coupon.valid_until:
        raise _invalid("This coupon has expired.")
    if coupon.max_uses is not None and coupon.uses >= coupon.max_uses:
        raise _invalid("This coupon has been used up.")
    restricted = {row.pk for row in coupon.packages.all()}
    if restricted and (package is None or package.pk not in restricted):
        raise _invalid("This coupon does not apply to this package.")
    order_currency = package.currency if package is not None else currency
    if (
        coupon.discount_type == Coupon.DiscountType.FIXED
        and order_currency
        and coupon.currency != order_currency
    ):
        raise _invalid(f"This coupon is for orders in {coupon.currency}, not {order_currency}.")
    return coupon


def coupon_discount(*, coupon: Coupon, price: Decimal) -> Discount:
    """What `coupon` takes off `price`: never so much that less than MINIMUM_CHARGE is left."""
    if coupon.discount_type == Coupon.DiscountType.PERCENT:
        raw = (price * coupon.value / 100).quantize(CENT)
    else:
        raw = coupon.value
    discount = max(Decimal("0"), min(raw, price - Coupon.MINIMUM_CHARGE))
    return Discount(coupon=coupon, discount=discount, amount=price - discount)


def coupon_apply(
    *, code: str, price: Decimal, currency: str, package: SmsPackage | None = None
) -> Discount:
    """coupon_validate, then what it takes off `price`."""
    coupon = coupon_validate(code=code, package=package, currency=currency)
    return coupon_discount(coupon=coupon, price=price)


# Takes one use only while the coupon is still usable at the moment the UPDATE locks its row:
# of any number of concurrent orders, exactly the first max_uses - uses get a row back.
_USE_SQL = """
UPDATE billing_coupon SET uses = uses + 1, updated_at = now()
WHERE id = %(id)s AND is_active
    AND (valid_from IS NULL OR valid_from <= now())
    AND (valid_until IS NULL OR valid_until > now())
    AND (max_uses IS NULL OR uses < max_uses)
RETURNING uses
"""


def coupon_use(*, coupon_id: uuid.UUID) -> int:
    """Count one use of the coupon for an order made in the caller's transaction (which must
    be open: the use is undone if the order is not made); returns its uses now, or raises 400
    INVALID_COUPON when the last use went meanwhile."""
    if not connection.in_atomic_block:
        raise RuntimeError("coupon_use runs in the transaction that makes the order.")
    with connection.cursor() as cursor:
        cursor.execute(_USE_SQL, {"id": coupon_id})
        row = cursor.fetchone()
    if row is None:
        raise _invalid("This coupon has been used up.")
    return cast(int, row[0])


_RELEASE_SQL = "UPDATE billing_coupon SET uses = uses - 1 WHERE id = %(id)s AND uses > 0"


def coupon_release(*, coupon_id: uuid.UUID) -> None:
    """Give back the use of an order that the provider refused at once (nothing was charged)."""
    with connection.cursor() as cursor:
        cursor.execute(_RELEASE_SQL, {"id": coupon_id})


@transaction.atomic
def coupon_save(*, coupon: Coupon, packages: list[SmsPackage] | None = None) -> Coupon:
    """Create or change a coupon (operators, through the admin), checked as a form would; the
    code is kept upper case. `packages`, when given, replace the ones it is limited to."""
    coupon.code = coupon.code.strip().upper()
    if coupon.discount_type == Coupon.DiscountType.PERCENT:
        coupon.currency = ""
    coupon.full_clean()
    coupon.save()
    if packages is not None:
        coupon.packages.set(packages)
    return coupon
