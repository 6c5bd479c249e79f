"""Reads of the credit ledger."""

import uuid
from decimal import Decimal

from django.conf import settings

from billing.models import CreditBalance


def credit_balance_get(*, tenant_id: uuid.UUID) -> CreditBalance:
    """The tenant's balance; a tenant that never bought credits has an unsaved zero balance."""
    return CreditBalance.objects.filter(tenant_id=tenant_id).first() or CreditBalance(
        tenant_id=tenant_id, credits=0
    )


def credits_cost(credits: float) -> Decimal:
    """What `credits` cost at SMS_CREDIT_PRICE (in SMS_CREDIT_CURRENCY), to the cent."""
    price: Decimal = settings.SMS_CREDIT_PRICE
    return (price * Decimal(str(credits))).quantize(Decimal("0.01"))
