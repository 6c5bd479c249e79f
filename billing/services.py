"""Credit ledger writes. Every change locks the tenant's balance row (SELECT ... FOR UPDATE),
so concurrent sends can never spend the same credit twice, and writes its ledger entry."""

import uuid
from typing import TYPE_CHECKING, cast

from django.db import connection, transaction
from rest_framework import status

from billing.models import CreditBalance, CreditLedgerEntry
from mifumo.errors import ApplicationError, ErrorCode

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
) -> CreditLedgerEntry:
    """Add purchased credits, or adjust by a signed amount (never below zero)."""
    if kind not in (Kind.PURCHASE, Kind.ADJUSTMENT):
        raise ValueError(f"credit_add takes a purchase or an adjustment, not {kind!r}.")
    if kind == Kind.PURCHASE and credits <= 0:
        raise ValueError("A purchase adds a positive number of credits.")
    balance = _locked_balance(tenant_id)
    if balance.credits + credits < 0:
        raise ApplicationError(
            f"An adjustment of {credits} would leave a negative balance ({balance.credits}).",
            code=ErrorCode.INSUFFICIENT_BALANCE,
            status_code=status.HTTP_402_PAYMENT_REQUIRED,
        )
    return _apply(
        balance,
        credits=credits,
        kind=kind,
        reference=reference,
        reason=reason,
        created_by=created_by,
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
