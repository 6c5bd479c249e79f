from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.models import CreditLedgerEntry
from billing.services import credit_add
from mifumo.errors import ApplicationError
from tenants.models import Tenant

Kind = CreditLedgerEntry.Kind
REFERENCE = "add_credits command"


class Command(BaseCommand):
    help = (
        "Add credits to a tenant's balance: a positive number is a purchase, a negative one an "
        "adjustment (refused if the balance would go below zero). Prints the new balance."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's subdomain")
        parser.add_argument("--credits", required=True, type=int, help="Credits to add, signed")
        parser.add_argument("--reason", default="", help="Recorded in the ledger entry")

    def handle(
        self, *args: Any, tenant: str, credits: int, reason: str = "", **options: Any
    ) -> None:
        found = Tenant.objects.filter(subdomain=tenant.strip().lower()).first()
        if found is None:
            raise CommandError(f"No tenant has the subdomain '{tenant}'.")
        if credits == 0:
            raise CommandError("--credits must not be 0.")
        if credits > 0:
            kind, default_reason = Kind.PURCHASE, "Purchase recorded by an operator."
        else:
            kind, default_reason = Kind.ADJUSTMENT, "Adjustment by an operator."
        try:
            entry = credit_add(
                tenant_id=found.pk,
                credits=credits,
                kind=kind,
                reason=reason.strip() or default_reason,
                reference=REFERENCE,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{entry.get_kind_display()} of {credits:+d} credits for {found}. "
                f"New balance: {entry.balance_after}."
            )
        )
