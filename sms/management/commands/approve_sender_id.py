from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models.functions import Lower

from mifumo.errors import ApplicationError
from sms import services
from sms.models import SenderId
from tenants.models import Tenant


class Command(BaseCommand):
    help = "Approve (or with --reject, reject) a tenant's pending sender ID request."

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's subdomain")
        parser.add_argument("--name", required=True, help="The sender ID, in any case")
        parser.add_argument("--reject", action="store_true", help="Reject instead of approving")
        parser.add_argument(
            "--reason", default="", help="Why it is rejected (shown to the tenant); with --reject"
        )

    def handle(
        self,
        *args: Any,
        tenant: str,
        name: str,
        reject: bool = False,
        reason: str = "",
        **options: Any,
    ) -> None:
        found = Tenant.objects.filter(subdomain=tenant.strip().lower()).first()
        if found is None:
            raise CommandError(f"No tenant has the subdomain '{tenant}'.")
        sender_id: SenderId | None = (
            SenderId.objects.alias(name_lower=Lower("name"))
            .filter(tenant=found, name_lower=name.strip().lower())
            .first()
        )
        if sender_id is None:
            raise CommandError(f"{found} has not requested the sender ID '{name}'.")
        if not reject and reason:
            raise CommandError("--reason goes with --reject.")
        try:
            if reject:
                sender_id = services.sender_id_reject(
                    sender_id=sender_id, reason=reason or services.OPERATOR_REJECTION_REASON
                )
            else:
                sender_id = services.sender_id_approve(sender_id=sender_id)
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"Sender ID '{sender_id.name}' of {found} is now {sender_id.status}."
            )
        )
