import io
import json

from django.core.management import call_command

from sms.providers import get_provider
from sms.providers.base import OutboundSms, SendContext
from sms.providers.sandbox import sandbox_outbox
from sms.services import platform_sms_send

# Sent as the platform's own SMS are, from the public schema.
CONTEXT = SendContext(schema_name="public")


def _sms(n: int, to: str = "+255712000001") -> OutboundSms:
    return OutboundSms(reference=f"ref-{n}", to=to, text=f"Habari {n}", sender="Taarifa-SMS")


def test_sandbox_accepts_every_message_and_keeps_it_in_the_outbox(db):
    results = get_provider("sandbox").send_batch([_sms(1), _sms(2, to="+255712000002")], CONTEXT)

    assert [r.reference for r in results] == ["ref-1", "ref-2"]
    assert all(r.accepted and r.provider_message_id.startswith("sbx_") for r in results)
    newest_first = sandbox_outbox()
    assert [e["text"] for e in newest_first] == ["Habari 2", "Habari 1"]
    assert newest_first[0]["provider_message_id"] == results[1].provider_message_id
    assert [e["to"] for e in sandbox_outbox(to="+255712000001")] == ["+255712000001"]


def test_sandbox_hands_back_each_delivery_report_for_later(settings):
    settings.SANDBOX_DELIVERY_DELAY_SECONDS = 2.5

    (result,) = get_provider("sandbox").send_batch([_sms(1)], CONTEXT)

    (scheduled,) = result.scheduled_reports
    assert scheduled.delay == 2.5
    assert (scheduled.report.status, scheduled.report.reference) == ("delivered", "ref-1")
    assert scheduled.report.event_id == "sandbox:ref-1:delivered"


def test_sandbox_outbox_keeps_only_the_newest_entries(db, settings):
    settings.SANDBOX_OUTBOX_LIMIT = 3

    get_provider("sandbox").send_batch([_sms(n) for n in range(5)], CONTEXT)

    assert [e["reference"] for e in sandbox_outbox(limit=10)] == ["ref-4", "ref-3", "ref-2"]


def test_sandbox_checks_its_connection_without_sending(db):
    assert get_provider("sandbox").test_connection().ok
    assert sandbox_outbox() == []


def test_platform_sms_is_sent_only_when_the_transaction_commits(db, on_commit):
    with on_commit():
        platform_sms_send(to="+255712000009", text="Your code is 123456")
        assert sandbox_outbox() == []

    (entry,) = sandbox_outbox()
    assert entry["sender"] == "Taarifa-SMS"
    assert entry["text"] == "Your code is 123456"
    assert entry["schema"] == "public"


def test_sandbox_outbox_command_prints_text_and_json(db, capsys):
    get_provider("sandbox").send_batch([_sms(1), _sms(2, to="+255712000002")], CONTEXT)

    call_command("sandbox_outbox", "--to", "0712000002")
    text = capsys.readouterr().out
    call_command("sandbox_outbox", "--json", "--limit", "1")
    as_json = json.loads(capsys.readouterr().out)

    assert "Taarifa-SMS -> +255712000002" in text
    assert "Habari 2" in text
    assert "Habari 1" not in text
    assert [e["reference"] for e in as_json] == ["ref-2"]


def test_sandbox_outbox_command_says_when_empty(db, capsys):
    call_command("sandbox_outbox")

    assert "has no messages" in capsys.readouterr().out


def test_an_empty_outbox_says_where_it_looked(db, settings):
    settings.REDIS_URL = "redis://:hunter2@127.0.0.1:6379/10"
    out = io.StringIO()

    call_command("sandbox_outbox", "--to", "0712000009", stdout=out)

    assert "redis://:***@127.0.0.1:6379/10" in out.getvalue()
    assert "+255712000009" in out.getvalue()
    assert "hunter2" not in out.getvalue()
