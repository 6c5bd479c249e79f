import json
from argparse import ArgumentParser
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from mifumo.phone import InvalidPhoneNumber, normalize_phone
from sms.providers.sandbox import sandbox_outbox


class Command(BaseCommand):
    help = "Print the messages the sandbox SMS provider accepted, newest first."
    requires_system_checks = []

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--to", help="Only messages to this phone number")
        parser.add_argument("--limit", type=int, default=20)
        parser.add_argument("--json", action="store_true", help="One JSON document")

    def handle(self, *args: Any, to: str | None = None, limit: int = 20, **options: Any) -> None:
        if to:
            try:
                to = normalize_phone(to)
            except InvalidPhoneNumber as exc:
                raise CommandError(str(exc)) from exc
        entries = sandbox_outbox(to=to, limit=limit)
        if options["json"]:
            self.stdout.write(json.dumps(entries, indent=2))
            return
        if not entries:
            # A server run with another REDIS_URL keeps its outbox elsewhere: say where we looked.
            where = _redacted(settings.REDIS_URL)
            matching = f" for {to}" if to else ""
            self.stdout.write(
                f"The sandbox outbox in {where} has no messages{matching}. (Is the server using "
                "this REDIS_URL, and SMS_PROVIDER=sandbox?)"
            )
            return
        for entry in entries:
            self.stdout.write(
                f"{entry['accepted_at']}  {entry['sender']} -> {entry['to']}  "
                f"[{entry['provider_message_id']}]\n    {entry['text']}"
            )


def _redacted(url: str) -> str:
    """The URL without its password."""
    parts = urlsplit(url)
    if parts.password:
        parts = parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@"))
    return parts.geturl()
