from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mifumo.errors import ApplicationError
from webhooks.inbound import (
    SANDBOX,
    inbound_process,
    sandbox_inbound_deliver,
    sandbox_inbound_enabled,
)
from webhooks.models import InboundMessage

State = InboundMessage.State


class Command(BaseCommand):
    help = (
        "Deliver an SMS to a tenant's sandbox number as a customer's phone would, through the "
        "pipeline of a provider's inbound messages (stored once per message id, then applied), "
        "and say what became of it. The same --message-id twice is one message."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's subdomain")
        parser.add_argument(
            "--from", dest="sender", required=True, help="+E.164 (local spellings: the tenant's)"
        )
        parser.add_argument("--text", required=True)
        parser.add_argument("--message-id", default="", help="The provider's id (default: new)")

    def handle(
        self, *args: Any, tenant: str, sender: str, text: str, message_id: str, **options: Any
    ) -> None:
        if not sandbox_inbound_enabled():
            raise CommandError("The sandbox is off (SMS_PROVIDER is not sandbox, DEBUG is off).")
        try:
            delivery = sandbox_inbound_deliver(
                subdomain=tenant, sender=sender, text=text, message_id=message_id
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        where = f"{delivery.sender} -> {delivery.to} ({tenant})"
        if delivery.stored:
            self.stdout.write(f"Delivered message {delivery.message_id}: {where}.")
            inbound_process()
        else:
            self.stdout.write(
                f"Message {delivery.message_id} was delivered before: nothing new was stored."
            )
        row = InboundMessage.objects.get(provider=SANDBOX, provider_message_id=delivery.message_id)
        if row.state == State.APPLIED:
            self.stdout.write(
                self.style.SUCCESS(f"Applied: in {tenant}'s conversation with {row.sender}.")
            )
        elif row.state == State.PENDING:
            self.stdout.write("Pending: a worker will apply it.")
        elif row.state == State.UNMATCHED:
            self.stdout.write(self.style.WARNING(f"Unmatched: no channel holds {row.recipient}."))
        else:
            self.stdout.write(self.style.ERROR(f"Failed: {row.error}"))
