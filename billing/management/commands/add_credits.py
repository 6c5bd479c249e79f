"""manage.py add_credits: an operator's correction of a tenant's balance from the shell, as
the admin makes it (billing.services.credit_correct)."""

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from billing.services import credit_correct
from mifumo.errors import ApplicationError
from tenants.models import Tenant

REFERENCE = "add_credits command"


class Command(BaseCommand):
    help = (
        "Add credits to a tenant's balance, or take them away: an operator's correction in the "
        "ledger (purchases come from payments only), refused if the balance would go below "
        "zero. Prints the new balance."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's subdomain")
        parser.add_argument("--credits", required=True, type=int, help="Credits to add, signed")
        parser.add_argument(
            "--reason", default="", help="Why; recorded in the ledger entry (a default is written)"
        )

    def handle(
        self, *args: Any, tenant: str, credits: int, reason: str = "", **options: Any
    ) -> None:
        found = Tenant.objects.filter(subdomain=tenant.strip().lower()).first()
        if found is None:
            raise CommandError(f"No tenant has the subdomain '{tenant}'.")
        if credits == 0:
            raise CommandError("--credits must not be 0.")
        default_reason = (
            "Credits added by an operator." if credits > 0 else "Credits taken away by an operator."
        )
        try:
            entry = credit_correct(
                tenant_id=found.pk,
                credits=credits,
                reason=reason.strip() or default_reason,
                reference=REFERENCE,
                created_by=None,
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{entry.get_kind_display()} of {credits:+d} credits for {found}. "
                f"New balance: {entry.balance_after}."
            )
        )
