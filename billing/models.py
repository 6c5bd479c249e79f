"""Prepaid SMS credits: one balance row per tenant and the ledger that explains it.

Both live in the public schema. A credit is one SMS segment to one recipient. The balance is
changed only by billing.services, under SELECT ... FOR UPDATE, and never goes below zero.
"""

import uuid

from django.conf import settings
from django.db import models


class CreditBalance(models.Model):
    """A tenant's spendable credits; the sum of its ledger entries."""

    tenant = models.OneToOneField(
        "tenants.Tenant", on_delete=models.CASCADE, primary_key=True, related_name="credit_balance"
    )
    credits = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(credits__gte=0), name="credit_balance_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.tenant_id}: {self.credits} credits"


class CreditLedgerEntry(models.Model):
    """One change to a balance. `credits` is signed: purchases and refunds add, reserves spend.

    `reference` names what caused it (a send request, a purchase, an operator's command).
    """

    class Kind(models.TextChoices):
        PURCHASE = "purchase", "Purchase"
        RESERVE = "reserve", "Reserve"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    tenant = models.ForeignKey(
        "tenants.Tenant", on_delete=models.CASCADE, related_name="credit_entries"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    credits = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["tenant", "-created_at"], name="credit_entry_tenant")]
        verbose_name_plural = "credit ledger entries"

    def __str__(self) -> str:
        return f"{self.kind} {self.credits:+d} ({self.tenant_id})"
