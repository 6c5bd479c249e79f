"""Credit ledger writes. Every change locks the tenant's balance row (SELECT ... FOR UPDATE),
so concurrent sends can never spend the same credit twice, and writes its ledger entry."""

from django.db import transaction
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


def _apply(*, tenant_id, credits: int, kind: str, reference="", reason="", created_by=None):
    balance = _locked_balance(tenant_id)
    balance.credits += credits
    balance.save(update_fields=["credits", "updated_at"])
    return CreditLedgerEntry.objects.create(
        tenant_id=tenant_id,
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
        tenant_id=tenant_id,
        credits=credits,
        kind=kind,
        reference=reference,
        reason=reason,
        created_by=created_by,
    )


@transaction.atomic
def credit_reserve(*, tenant_id, credits: int, reference, created_by=None) -> CreditLedgerEntry:
    """Spend `credits` for a send, or raise 402 INSUFFICIENT_BALANCE and change nothing.

    Call it last in the send's transaction: the balance row stays locked until commit.
    """
    balance = _locked_balance(tenant_id)
    if credits > balance.credits:
        raise ApplicationError(
            f"This send needs {credits} credits; the balance is {balance.credits}.",
            code=ErrorCode.INSUFFICIENT_BALANCE,
            status_code=status.HTTP_402_PAYMENT_REQUIRED,
            details={"required_credits": credits, "available_credits": balance.credits},
        )
    return _apply(
        tenant_id=tenant_id,
        credits=-credits,
        kind=Kind.RESERVE,
        reference=reference,
        created_by=created_by,
    )


@transaction.atomic
def credit_refund(
    *, tenant_id, credits: int, reference, reason: str = ""
) -> CreditLedgerEntry | None:
    """Give back credits reserved for messages that were never delivered to a provider."""
    if credits <= 0:
        return None
    return _apply(
        tenant_id=tenant_id, credits=credits, kind=Kind.REFUND, reference=reference, reason=reason
    )
