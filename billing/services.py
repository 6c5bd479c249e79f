"""Credit ledger writes. Every change locks the tenant's balance row (SELECT ... FOR UPDATE),
so concurrent sends can never spend the same credit twice, and writes its ledger entry."""

import uuid

from django.db import connection, transaction
from rest_framework import status

from billing.models import CreditBalance, CreditLedgerEntry
from mifumo.errors import ApplicationError, ErrorCode

Kind = CreditLedgerEntry.Kind


def _locked_balance(tenant_id) -> CreditBalance:
    balance = CreditBalance.objects.select_for_update().filter(tenant_id=tenant_id).first()
    if balance is None:  # the tenant's first ledger change; a concurrent one may create it too
        CreditBalance.objects.bulk_create(
            [CreditBalance(tenant_id=tenant_id)], ignore_conflicts=True
        )
        balance = CreditBalance.objects.select_for_update().get(tenant_id=tenant_id)
    return balance


def _apply(
    balance: CreditBalance, *, credits: int, kind: str, reference="", reason="", created_by=None
):
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
    tenant_id,
    credits: int,
    kind: str = Kind.PURCHASE,
    reason: str = "",
    reference="",
    created_by=None,
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
    SELECT %(id)s, %(tenant)s, 'reserve', -%(credits)s, spent.credits, %(reference)s, '',
        %(created_by)s, now()
    FROM spent
)
SELECT (SELECT credits FROM balance), (SELECT credits FROM spent)
"""


def credit_reserve(*, tenant_id, credits: int, reference, created_by=None) -> int:
    """Spend `credits` for a send and return the balance left, or raise 402
    INSUFFICIENT_BALANCE and change nothing.

    Call it last in the send's transaction: the balance row stays locked until commit.
    """
    if credits <= 0:
        raise ValueError("A reserve spends a positive number of credits.")
    params = {
        "id": uuid.uuid4(),
        "tenant": tenant_id,
        "credits": credits,
        "reference": str(reference)[:100],
        "created_by": getattr(created_by, "pk", None),
    }
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:
        cursor.execute(_RESERVE_SQL, params)
        available, after = cursor.fetchone()
    if after is None:
        raise ApplicationError(
            f"This send needs {credits} credits; the balance is {available or 0}.",
            code=ErrorCode.INSUFFICIENT_BALANCE,
            status_code=status.HTTP_402_PAYMENT_REQUIRED,
            details={"required_credits": credits, "available_credits": available or 0},
        )
    return after


@transaction.atomic
def credit_refund(
    *, tenant_id, credits: int, reference, reason: str = ""
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
