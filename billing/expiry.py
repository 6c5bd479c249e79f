"""Credits that expire: the lot a paid package with `validity_days` (or a plan's period) opens,
the periodic run that expires what is left of each lot once its date passes, oldest first, and
the next expiry a tenant is shown.

The ledger does not say which credits a send spent, so lots learn it in arrears. The run
(credit_lots_expire, every 15 minutes) finds, in one query, the tenants with a lot due
(expires_at <= now, not expired yet), and for each one, in its own transaction holding the
tenant's balance row lock (billing.services), and reading the lots again under it:

(a) Count the spending since the last count: S = minus the sum of the tenant's reserve,
    refund, correction and adjustment entries (SPENDING_KINDS) stamped after
    CreditBalance.spend_counted_until and at or before a cutoff of now - SETTLE_MARGIN. An
    entry is stamped when its transaction starts (a reserve by the database's now()), up to
    SETTLE_MARGIN before it commits: the cutoff leaves transactions still open time to commit
    before their entries are passed by, and a tenant never counted is counted from
    SETTLE_MARGIN before its first lot was opened, so a send that waited for the purchase's
    lock is not missed. S > 0 is taken from the live lots, soonest expiry first; S < 0
    (refunds beyond the spending) gives nothing back to lots. Lots opened after some of that
    spending are charged for it too: an approximation that only ever lets fewer credits
    expire. Then, since spending after the cutoff is not counted yet but is already off the
    balance, the lots are cut, soonest expiry first, until together they hold no more than
    the balance (a later run counts that spending against them again, erring the same way).
    spend_counted_until moves to the cutoff, never back. The new `remaining` of every lot
    comes from one read of the lots and is written in one bulk UPDATE.
(b) Each due lot expires: what is left of it (never more than the balance left) goes in one
    `expiry` ledger entry that names its payment (reference: the order id), its `remaining`
    becomes 0 and `expired_at` now. A lot with nothing left is only stamped.

Running it twice changes nothing the second time; two runs at once expire a lot once, since
the second reads the lots after the first commits, and the ledger's unique (payment, kind)
index refuses a second expiry entry for one payment whatever happens.
"""

import logging
import uuid
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TypedDict

from django.db import transaction
from django.db.models import Sum
from django.utils import timezone

from billing.models import CreditBalance, CreditLedgerEntry, CreditLot
from billing.services import _locked_balance, credit_expire

logger = logging.getLogger(__name__)

Kind = CreditLedgerEntry.Kind

# What spends (or gives back) credits a lot may hold. Not purchases and bonuses, which open
# lots or never expire; not expiries and reversals, which take from their own payment's lot
# (a reversal of a payment without a lot takes credits that never expire).
SPENDING_KINDS = (Kind.RESERVE, Kind.REFUND, Kind.CORRECTION, Kind.ADJUSTMENT)
# How long a transaction may stay open after stamping a ledger entry and still be counted.
SETTLE_MARGIN = timedelta(minutes=5)


# A lot and its payment's order id, which names its expiry entry; every field bulk_update
# writes is loaded, or reading it would cost a query per lot.
_LOT_FIELDS = (
    "tenant",
    "payment__order_id",
    "credits",
    "remaining",
    "expires_at",
    "expired_at",
    "created_at",
)


class CreditExpiry(TypedDict):
    credits: int
    expires_at: datetime


def credit_lot_open(
    *, payment_id: uuid.UUID, tenant_id: uuid.UUID, credits: int, expires_at: datetime
) -> None:
    """Open the lot of a paid order's `credits`, expiring at `expires_at`: one per payment, so
    a second call for the same payment changes nothing. Called in the transaction that grants
    the credits."""
    if credits <= 0:
        return
    # ON CONFLICT DO NOTHING on the payment's one-to-one: a replay opens nothing.
    CreditLot.objects.bulk_create(
        [
            CreditLot(
                tenant_id=tenant_id,
                payment_id=payment_id,
                credits=credits,
                remaining=credits,
                expires_at=expires_at,
            )
        ],
        ignore_conflicts=True,
    )


def lots_spend(remaining: Sequence[int], *, spent: int, balance: int) -> list[int]:
    """What is left of lots (listed soonest expiry first) once `spent` credits are taken from
    them, soonest first, and they are then cut, soonest first, to hold no more than `balance`
    together. Nothing is given back for a negative `spent`, and no lot goes below zero.

    Taking the two one after the other equals taking the larger of the two at once:
    take = min(sum(remaining), max(spent, sum(remaining) - balance, 0)).
    """
    total = sum(remaining)
    take = min(total, max(spent, total - max(balance, 0), 0))
    left = []
    for credits in remaining:
        taken = min(credits, take)
        take -= taken
        left.append(credits - taken)
    return left


def _spent_between(tenant_id: uuid.UUID, after: datetime, until: datetime | None) -> int:
    """Credits spent net of what was given back, by entries stamped in (after, until]."""
    entries = CreditLedgerEntry.objects.filter(
        tenant_id=tenant_id, kind__in=SPENDING_KINDS, created_at__gt=after
    )
    if until is not None:
        entries = entries.filter(created_at__lte=until)
    total = entries.aggregate(total=Sum("credits"))["total"]
    return -int(total or 0)


def _first_opened(created: Iterable[datetime]) -> datetime:
    """Where counting starts for a tenant never counted: see the module docstring."""
    return min(created) - SETTLE_MARGIN


def credit_lots_expire(*, now: datetime | None = None) -> int:
    """Expire the lots whose date has passed (the module docstring has the steps); returns
    how many lots expired. A tenant whose run fails is logged and left for the next run; the
    others go on."""
    now = now or timezone.now()
    tenant_ids = list(
        CreditLot.objects.filter(expires_at__lte=now, expired_at__isnull=True)
        .order_by("tenant_id")
        .values_list("tenant_id", flat=True)
        .distinct()
    )
    expired = 0
    for tenant_id in tenant_ids:
        try:
            expired += _tenant_lots_expire(tenant_id=tenant_id, now=now)
        except Exception:
            logger.exception("Expiring the credit lots of tenant %s failed", tenant_id)
    return expired


@transaction.atomic
def _tenant_lots_expire(*, tenant_id: uuid.UUID, now: datetime) -> int:
    balance = _locked_balance(tenant_id)
    # Read under the lock: a run that expired these lots meanwhile has committed.
    lots = list(
        CreditLot.objects.filter(tenant_id=tenant_id, expired_at__isnull=True)
        .select_related("payment")
        .only(*_LOT_FIELDS)
        .order_by("expires_at", "id")
    )
    if not any(lot.expires_at <= now for lot in lots):
        return 0

    since = balance.spend_counted_until or _first_opened(lot.created_at for lot in lots)
    cutoff = now - SETTLE_MARGIN
    spent = _spent_between(tenant_id, since, cutoff) if cutoff > since else 0
    left = lots_spend([lot.remaining for lot in lots], spent=spent, balance=balance.credits)

    changed: list[CreditLot] = []
    expired = 0
    balance_left = balance.credits
    for lot, remaining in zip(lots, left, strict=True):
        if lot.expires_at <= now:
            expired += 1
            lost = min(remaining, balance_left)
            if lost > 0:
                credit_expire(
                    tenant_id=tenant_id,
                    credits=lost,
                    reference=lot.payment.order_id,
                    reason=f"Credits expired (bought {lot.created_at:%Y-%m-%d})",
                    payment_id=lot.payment_id,
                )
                balance_left -= lost
            lot.remaining, lot.expired_at = 0, now
        elif remaining == lot.remaining:
            continue
        else:
            lot.remaining = remaining
        changed.append(lot)
    CreditLot.objects.bulk_update(changed, ["remaining", "expired_at"])
    CreditBalance.objects.filter(tenant_id=tenant_id).update(spend_counted_until=max(cutoff, since))
    return expired


def credit_next_expiry(*, tenant_id: uuid.UUID) -> CreditExpiry | None:
    """The credits that expire next and when, or None when none will: the soonest lot that
    still holds credits, once the spending the run has not counted yet is taken from the lots
    as it would take it (up to now, without the run's margin)."""
    lots = list(
        CreditLot.objects.filter(tenant_id=tenant_id, expired_at__isnull=True, remaining__gt=0)
        .order_by("expires_at", "id")
        .values_list("remaining", "expires_at", "created_at")
    )
    if not lots:
        return None
    balance = CreditBalance.objects.filter(tenant_id=tenant_id).first()
    credits = balance.credits if balance is not None else 0
    counted = balance.spend_counted_until if balance is not None else None
    since = counted or _first_opened(created for _, _, created in lots)
    spent = _spent_between(tenant_id, since, None)
    left = lots_spend([remaining for remaining, _, _ in lots], spent=spent, balance=credits)
    for remaining, (_, expires_at, _) in zip(left, lots, strict=True):
        if remaining > 0:
            return {"credits": remaining, "expires_at": expires_at}
    return None
