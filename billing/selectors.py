"""Reads of the credit ledger."""

from billing.models import CreditBalance


def credit_balance_get(*, tenant_id) -> CreditBalance:
    """The tenant's balance; a tenant that never bought credits has an unsaved zero balance."""
    return CreditBalance.objects.filter(tenant_id=tenant_id).first() or CreditBalance(
        tenant_id=tenant_id, credits=0
    )
