"""The development provider: accepts every message and keeps it in a Redis outbox.

The outbox is shared by the web server, the workers and `manage.py sandbox_outbox`, and keeps
the newest settings.SANDBOX_OUTBOX_LIMIT entries. A tenant's messages are reported delivered
SANDBOX_DELIVERY_DELAY_SECONDS after they were accepted, as a real provider's callback would.
"""

import json
import uuid

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django_redis import get_redis_connection
from django_tenants.utils import get_public_schema_name

from mifumo.principals import shared_key
from sms.providers.base import ConnectionCheck, OutboundSms, SendResult, SmsProvider

OUTBOX_KEY = shared_key("sms", "sandbox", "outbox")


class SandboxProvider(SmsProvider):
    name = "sandbox"

    def send_batch(self, messages: list[OutboundSms]) -> list[SendResult]:
        accepted_at = timezone.now().isoformat()
        results, entries = [], []
        for message in messages:
            provider_id = f"sbx_{uuid.uuid4().hex}"
            entries.append(
                json.dumps(
                    {
                        "provider_message_id": provider_id,
                        "reference": message.reference,
                        "to": message.to,
                        "sender": message.sender,
                        "text": message.text,
                        "schema": connection.schema_name,
                        "accepted_at": accepted_at,
                    }
                )
            )
            results.append(
                SendResult(
                    reference=message.reference, accepted=True, provider_message_id=provider_id
                )
            )
        if entries:
            pipe = get_redis_connection("default").pipeline(transaction=True)
            pipe.lpush(OUTBOX_KEY, *entries)
            pipe.ltrim(OUTBOX_KEY, 0, settings.SANDBOX_OUTBOX_LIMIT - 1)
            pipe.execute()
        if messages and connection.schema_name != get_public_schema_name():
            from sms.tasks import sandbox_reports_deliver

            sandbox_reports_deliver.apply_async(
                kwargs={"references": [message.reference for message in messages]},
                countdown=settings.SANDBOX_DELIVERY_DELAY_SECONDS,
            )
        return results

    def balance(self) -> dict:
        return {"credits": None, "currency": None, "unlimited": True}

    def test_connection(self) -> ConnectionCheck:
        get_redis_connection("default").ping()
        return ConnectionCheck(ok=True, detail="Sandbox provider: messages are kept, not sent.")


def sandbox_outbox(*, to: str | None = None, limit: int = 50) -> list[dict]:
    """Newest first; `to` filters on the recipient's E.164 number."""
    raw = get_redis_connection("default").lrange(OUTBOX_KEY, 0, -1)
    entries = (json.loads(item) for item in raw)
    if to:
        entries = (entry for entry in entries if entry["to"] == to)
    return [entry for _, entry in zip(range(limit), entries, strict=False)]
