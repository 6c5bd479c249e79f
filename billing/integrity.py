"""The daily proof that the credit ledger balances: every tenant's CreditBalance.credits equals
the sum of its CreditLedgerEntry.credits.

billing.services keeps the two in step in one transaction, so a difference means something
wrote one behind the service's back (a hand-run UPDATE, a restore of one table, a bug). The
check finds every such tenant in one set-based query, whatever the number of tenants, logs
each drift as an error and mails the operators (active superusers); it corrects nothing, since
which side is right is an operator's call.
"""

import logging
import uuid
from dataclasses import dataclass

from django.db import connection

from accounts.models import User
from billing.models import CreditBalance, CreditLedgerEntry
from mifumo.tasks import email_send
from tenants.models import Tenant

logger = logging.getLogger(__name__)

# A tenant drifts when its balance differs from its ledger's sum, or when it has entries but
# no balance row; a balance row of zero with no entries is a tenant that never bought.
_DRIFTS_SQL = f"""
SELECT COALESCE(b.tenant_id, l.tenant_id) AS tenant_id, t.schema_name, b.credits, l.total
FROM {CreditBalance._meta.db_table} AS b
FULL OUTER JOIN (
    SELECT tenant_id, SUM(credits)::bigint AS total
    FROM {CreditLedgerEntry._meta.db_table}
    GROUP BY tenant_id
) AS l ON l.tenant_id = b.tenant_id
JOIN {Tenant._meta.db_table} AS t ON t.id = COALESCE(b.tenant_id, l.tenant_id)
WHERE b.tenant_id IS NULL OR b.credits <> COALESCE(l.total, 0)
ORDER BY t.schema_name
"""  # noqa: S608 - table names come from the models


@dataclass(frozen=True)
class LedgerDrift:
    """One tenant whose balance is not its ledger's sum. `balance` is None when the tenant has
    ledger entries but no balance row."""

    tenant_id: uuid.UUID
    schema_name: str
    balance: int | None
    ledger_sum: int

    @property
    def difference(self) -> int:
        """How many credits the balance holds beyond what the ledger explains."""
        return (self.balance or 0) - self.ledger_sum

    def describe(self) -> str:
        balance = "no balance row" if self.balance is None else f"balance {self.balance}"
        return (
            f"{self.schema_name} ({self.tenant_id}): {balance}, ledger sum {self.ledger_sum}, "
            f"difference {self.difference:+d}"
        )


def ledger_drifts_find() -> list[LedgerDrift]:
    """Every tenant whose balance differs from the sum of its ledger, in one query."""
    with connection.cursor() as cursor:
        cursor.execute(_DRIFTS_SQL)
        rows = cursor.fetchall()
    return [
        LedgerDrift(tenant_id=tenant_id, schema_name=schema, balance=balance, ledger_sum=total or 0)
        for tenant_id, schema, balance, total in rows
    ]


def ledger_integrity_check() -> list[LedgerDrift]:
    """Find the drifts; when there are any, log them as an error and mail every active
    superuser the list. Returns the drifts (empty when the ledger balances)."""
    drifts = ledger_drifts_find()
    if not drifts:
        return drifts
    lines = "\n".join(drift.describe() for drift in drifts)
    logger.error("Credit ledger drift in %d tenant(s):\n%s", len(drifts), lines)
    subject = f"Mifumo: credit ledger drift in {len(drifts)} tenant(s)"
    body = (
        "The daily ledger check found balances that differ from the sum of their ledger "
        "entries. Nothing was corrected: decide which side is right and record an adjustment "
        f"through the admin.\n\n{lines}\n"
    )
    operators = User.objects.filter(is_superuser=True, is_active=True).exclude(email="")
    for email in operators.values_list("email", flat=True):
        email_send.delay_on_commit(  # type: ignore[attr-defined]  # a DjangoTask at run time
            subject=subject, body=body, to=email
        )
    return drifts
