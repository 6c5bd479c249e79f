"""Credit ledger writes, and the SMS package catalogue. Every ledger change locks the tenant's
balance row (SELECT ... FOR UPDATE), so concurrent sends can never spend the same credit twice,
and writes its ledger entry: purchases and bonuses of payments, reserves and refunds of sends,
operators' corrections, and the reversal of a refunded payment. Payments are
billing.payments.services', their refunds billing.refunds'."""

import uuid
from decimal import Decimal
from typing import TYPE_CHECKING, Any, cast

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from rest_framework import status

from billing.models import CreditBalance, CreditLedgerEntry, CreditLot, SmsPackage
from mifumo.errors import ApplicationError, ErrorCode, field_error

if TYPE_CHECKING:
    from accounts.models import User

Kind = CreditLedgerEntry.Kind


def _locked_balance(tenant_id: uuid.UUID) -> CreditBalance:
    balance = CreditBalance.objects.select_for_update().filter(tenant_id=tenant_id).first()
    if balance is None:  # the tenant's first ledger change; a concurrent one may create it too
        CreditBalance.objects.bulk_create(
            [CreditBalance(tenant_id=tenant_id)], ignore_conflicts=True
        )
        balance = CreditBalance.objects.select_for_update().get(tenant_id=tenant_id)
    return balance


def _apply(
    balance: CreditBalance,
    *,
    credits: int,
    kind: str,
    reference: uuid.UUID | str = "",
    reason: str = "",
    created_by: "User | None" = None,
    payment_id: uuid.UUID | None = None,
) -> CreditLedgerEntry:
    balance.credits += credits
    balance.save(update_fields=["credits", "updated_at"])
    return CreditLedgerEntry.objects.create(
        tenant_id=balance.tenant_id,
        kind=kind,
        credits=credits,
        balance_after=balance.credits,
        reference=str(reference),
        reason=reason,
        created_by=created_by,
        payment_id=payment_id,
    )


@transaction.atomic
def credit_add(
    *,
    tenant_id: uuid.UUID,
    credits: int,
    kind: str = Kind.PURCHASE,
    reason: str = "",
    reference: uuid.UUID | str = "",
    created_by: "User | None" = None,
    payment_id: uuid.UUID | None = None,
) -> CreditLedgerEntry:
    """Add purchased (or bonus) credits, or adjust by a signed amount (never below zero).
    Entries of a payment name it (`payment_id`): a second purchase or bonus entry for the same
    payment is refused by the database (credit_entry_once_per_payment)."""
    if kind not in (Kind.PURCHASE, Kind.BONUS, Kind.ADJUSTMENT):
        raise ValueError(f"credit_add takes a purchase, a bonus or an adjustment, not {kind!r}.")
    if kind != Kind.ADJUSTMENT and credits <= 0:
        raise ValueError(f"A {kind} adds a positive number of credits.")
    balance = _locked_balance(tenant_id)
    _never_negative(balance, credits, "An adjustment")
    return _apply(
        balance,
        credits=credits,
        kind=kind,
        reference=reference,
        reason=reason,
        created_by=created_by,
        payment_id=payment_id,
    )


def _never_negative(balance: CreditBalance, credits: int, what: str) -> None:
    if balance.credits + credits < 0:
        raise ApplicationError(
            f"{what} of {credits} would leave a negative balance ({balance.credits}).",
            code=ErrorCode.INSUFFICIENT_BALANCE,
            status_code=status.HTTP_402_PAYMENT_REQUIRED,
        )


@transaction.atomic
def credit_correct(
    *,
    tenant_id: uuid.UUID,
    credits: int,
    reason: str,
    created_by: "User | None",
    reference: str = "",
) -> CreditLedgerEntry:
    """An operator's correction: a signed number of credits with the reason it is made
    (required). Purchases come from payments only; an operator's entry is always a correction.
    The balance never goes below zero (402 INSUFFICIENT_BALANCE, as credit_add)."""
    reason = reason.strip()
    if credits == 0:
        raise field_error("credits", "A correction adds or takes away credits: not 0.")
    if not reason:
        raise field_error("reason", "A correction says why it is made.")
    balance = _locked_balance(tenant_id)
    _never_negative(balance, credits, "A correction")
    return _apply(
        balance,
        credits=credits,
        kind=Kind.CORRECTION,
        reference=reference,
        reason=reason,
        created_by=created_by,
    )


def credit_reverse(
    *,
    tenant_id: uuid.UUID,
    payment_id: uuid.UUID,
    credits: int,
    reason: str,
    created_by: "User | None",
) -> CreditLedgerEntry | None:
    """Take back up to `credits` of a refunded payment (billing.refunds): never more than the
    balance holds, nor, when the payment's credits are a lot that expires, than the lot has
    left (what expired was taken by its expiry entry already); the lot keeps what is left.
    One reversal entry per payment, which the unique index on (payment, kind) holds; None when
    nothing is left to take. Runs in the transaction that refunds the payment."""
    if not connection.in_atomic_block:
        raise RuntimeError("credit_reverse runs in the transaction that refunds the payment.")
    balance = _locked_balance(tenant_id)
    # Read under the balance lock, as the expiry run reads lots: no lock order to get wrong.
    lot = CreditLot.objects.filter(payment_id=payment_id).first()
    taken = min(credits, balance.credits, credits if lot is None else lot.remaining)
    if taken <= 0:
        return None
    if lot is not None:
        lot.remaining -= taken
        lot.save(update_fields=["remaining"])
    return _apply(
        balance,
        credits=-taken,
        kind=Kind.REVERSAL,
        reference=str(payment_id),
        reason=reason,
        created_by=created_by,
        payment_id=payment_id,
    )


# The send path's one round trip: lock the row, spend only if it covers the send, and write
# the ledger entry, in one statement. `available` is the balance before, `after` is NULL when
# nothing was spent (no balance row reads as zero).
_RESERVE_SQL = """
WITH balance AS (
    SELECT tenant_id, credits FROM billing_creditbalance WHERE tenant_id = %(tenant)s FOR UPDATE
), spent AS (
    UPDATE billing_creditbalance AS b SET credits = b.credits - %(credits)s, updated_at = now()
    FROM balance WHERE b.tenant_id = balance.tenant_id AND balance.credits >= %(credits)s
    RETURNING b.credits
), entry AS (
    INSERT INTO billing_creditledgerentry
        (id, tenant_id, kind, credits, balance_after, reference, reason, created_by_id, created_at)
    SELECT %(id)s, %(tenant)s, %(kind)s, -%(credits)s, spent.credits, %(reference)s, '',
        %(created_by)s, now()
    FROM spent
)
SELECT (SELECT credits FROM balance), (SELECT credits FROM spent)
"""


def credit_reserve(
    *,
    tenant_id: uuid.UUID,
    credits: int,
    reference: uuid.UUID | str,
    created_by: "User | None" = None,
) -> int:
    """Spend `credits` for a send and return the balance left, or raise 402
    INSUFFICIENT_BALANCE and change nothing.

    Call it last in the send's transaction: the balance row stays locked until commit.
    """
    if credits <= 0:
        raise ValueError("A reserve spends a positive number of credits.")
    params = {
        "id": uuid.uuid4(),
        "tenant": tenant_id,
        "kind": Kind.RESERVE,
        "credits": credits,
        "reference": str(reference)[:100],
        "created_by": getattr(created_by, "pk", None),
    }
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL, params)
        # One row always: its two subqueries read NULL when they find nothing.
        available, after = cast(tuple[int | None, int | None], cursor.fetchone())
    if after is None:
        raise _insufficient(credits, available or 0)
    return after


def _insufficient(credits: int, available: int) -> ApplicationError:
    return ApplicationError(
        f"This send needs {credits} credits; the balance is {available}.",
        code=ErrorCode.INSUFFICIENT_BALANCE,
        status_code=status.HTTP_402_PAYMENT_REQUIRED,
        details={"required_credits": credits, "available_credits": available},
    )


def credit_balance_check(*, tenant_id: uuid.UUID, credits: int) -> None:
    """Raise the 402 that credit_reserve would if the balance is below `credits` now. Nothing
    is reserved: a send that reserves later may still find the balance short."""
    balance = CreditBalance.objects.filter(tenant_id=tenant_id).values_list("credits", flat=True)
    available = balance.first() or 0
    if available < credits:
        raise _insufficient(credits, available)


@transaction.atomic
def credit_refund(
    *, tenant_id: uuid.UUID, credits: int, reference: uuid.UUID | str, reason: str = ""
) -> CreditLedgerEntry | None:
    """Give back credits reserved for messages that were never delivered to a provider."""
    if credits <= 0:
        return None
    return _apply(
        _locked_balance(tenant_id),
        credits=credits,
        kind=Kind.REFUND,
        reference=reference,
        reason=reason,
    )


@transaction.atomic
def sms_package_save(*, package: SmsPackage) -> SmsPackage:
    """Create or change a package (operators, through the admin), checked as a form would."""
    package.full_clean()
    if not isinstance(package.features, list) or not all(
        isinstance(line, str) for line in package.features
    ):
        raise ValidationError({"features": "A list of short lines of text."})
    package.save()
    return package


# A fresh install's catalogue, in TZS at or below SMS_CREDIT_PRICE (25) per SMS.
DEFAULT_PACKAGES: list[dict[str, Any]] = [
    {
        "name": "Starter",
        "package_type": SmsPackage.PackageType.STARTER,
        "sms_count": 1_000,
        "bonus_sms": 0,
        "price": Decimal("25000"),
        "validity_days": 180,
        "features": ["1,000 SMS", "Valid 6 months", "Delivery reports"],
    },
    {
        "name": "Business",
        "package_type": SmsPackage.PackageType.BUSINESS,
        "sms_count": 5_000,
        "bonus_sms": 250,
        "price": Decimal("110000"),
        "validity_days": 365,
        "is_popular": True,
        "features": ["5,000 SMS + 250 bonus", "Valid 12 months", "Sender ID included"],
    },
    {
        "name": "Professional",
        "package_type": SmsPackage.PackageType.PROFESSIONAL,
        "sms_count": 20_000,
        "bonus_sms": 1_500,
        "price": Decimal("400000"),
        "validity_days": 365,
        "features": ["20,000 SMS + 1,500 bonus", "Valid 12 months", "Priority support"],
    },
    {
        "name": "Enterprise",
        "package_type": SmsPackage.PackageType.ENTERPRISE,
        "sms_count": 100_000,
        "bonus_sms": 10_000,
        "price": Decimal("1800000"),
        "validity_days": None,
        "features": ["100,000 SMS + 10,000 bonus", "Never expire", "Account manager"],
    },
]


def sms_packages_seed() -> int:
    """Create the default catalogue's packages that do not exist yet (by name), leaving any an
    operator changed as they are; returns how many were made."""
    existing = set(SmsPackage.objects.values_list("name", flat=True))
    made = 0
    for order, fields in enumerate(DEFAULT_PACKAGES):
        if fields["name"] not in existing:
            sms_package_save(package=SmsPackage(currency="TZS", sort_order=order, **fields))
            made += 1
    return made


@transaction.atomic
def credit_expire(
    *,
    tenant_id: uuid.UUID,
    credits: int,
    reference: uuid.UUID | str,
    reason: str,
    payment_id: uuid.UUID | None = None,
) -> CreditLedgerEntry:
    """Take away `credits` that expired unspent (billing.expiry), never more than the balance.
    The entry of a paid order's lot names the payment: a second expiry of it is refused by the
    database (credit_entry_once_per_payment)."""
    balance = _locked_balance(tenant_id)
    if not 0 < credits <= balance.credits:
        raise ValueError(f"Cannot expire {credits} credits of a balance of {balance.credits}.")
    return _apply(
        balance,
        credits=-credits,
        kind=Kind.EXPIRY,
        reference=reference,
        reason=reason,
        payment_id=payment_id,
    )
