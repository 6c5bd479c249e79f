"""The development provider: accepts every message and keeps it in a Redis outbox.

The outbox is shared by the web server, the workers and `manage.py sandbox_outbox`, and keeps
the newest settings.SANDBOX_OUTBOX_LIMIT entries. Each accepted message comes back with its
delivery report scheduled SANDBOX_DELIVERY_DELAY_SECONDS later, as a real provider's callback
would arrive; the caller applies it then (a platform SMS, which has no message row, does not).
"""

import json
import uuid
from typing import Any

from django.conf import settings
from django.utils import timezone
from django_redis import get_redis_connection

from mifumo.principals import shared_key
from sms.providers.base import (
    ConnectionCheck,
    OutboundSms,
    ScheduledReport,
    SendContext,
    SendResult,
    SmsProvider,
    StatusReport,
)

OUTBOX_KEY = shared_key("sms", "sandbox", "outbox")
DELIVERED = "delivered"


class SandboxProvider(SmsProvider):
    name = "sandbox"

    def send_batch(self, messages: list[OutboundSms], context: SendContext) -> list[SendResult]:
        accepted_at = timezone.now().isoformat()
        delay = settings.SANDBOX_DELIVERY_DELAY_SECONDS
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
                        "schema": context.schema_name,
                        "accepted_at": accepted_at,
                    }
                )
            )
            report = StatusReport(
                event_id=f"sandbox:{message.reference}:{DELIVERED}",
                status=DELIVERED,
                reference=message.reference,
            )
            results.append(
                SendResult(
                    reference=message.reference,
                    accepted=True,
                    provider_message_id=provider_id,
                    scheduled_reports=(ScheduledReport(report=report, delay=delay),),
                )
            )
        if entries:
            pipe = get_redis_connection("default").pipeline(transaction=True)
            pipe.lpush(OUTBOX_KEY, *entries)
            pipe.ltrim(OUTBOX_KEY, 0, settings.SANDBOX_OUTBOX_LIMIT - 1)
            pipe.execute()
        return results

    def balance(self) -> dict[str, Any]:
        return {"credits": None, "currency": None, "unlimited": True}

    def test_connection(self) -> ConnectionCheck:
        get_redis_connection("default").ping()
        return ConnectionCheck(ok=True, detail="Sandbox provider: messages are kept, not sent.")


def sandbox_outbox(*, to: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; `to` filters on the recipient's E.164 number."""
    raw = get_redis_connection("default").lrange(OUTBOX_KEY, 0, -1)
    entries = (json.loads(item) for item in raw)
    if to:
        entries = (entry for entry in entries if entry["to"] == to)
    return [entry for _, entry in zip(range(limit), entries, strict=False)]
