"""GET /api/messaging/messages/?direction=: both seeds' spellings (outbound/out, inbound/in)."""

from django_tenants.utils import tenant_context

from messaging.models import Message
from tests.envelope import assert_error, ok_data

MESSAGES = "/api/messaging/messages/"


def make_message(tenant, direction: str, recipient: str) -> Message:
    with tenant_context(tenant):
        inbound = direction == Message.Direction.INBOUND
        return Message.objects.create(
            direction=direction,
            status=Message.Status.RECEIVED if inbound else Message.Status.SENT,
            recipient=recipient,
            sender="Acme",
            text="Habari",
            encoding="GSM-7",
            segments=1,
        )


def test_messages_filter_direction_in_either_spelling(api, a, b):
    outbound = make_message(a.tenant, Message.Direction.OUTBOUND, "+255713000001")
    inbound = make_message(a.tenant, Message.Direction.INBOUND, "+255713000002")
    make_message(b.tenant, Message.Direction.OUTBOUND, "+255713000003")
    make_message(b.tenant, Message.Direction.INBOUND, "+255713000004")
    client = api(a.owner)

    def listed(direction):
        return [m["id"] for m in ok_data(client.get(MESSAGES, {"direction": direction}))["results"]]

    assert listed("out") == listed("outbound") == [str(outbound.id)]
    assert listed("in") == listed("inbound") == [str(inbound.id)]
    body = assert_error(client.get(MESSAGES, {"direction": "sideways"}), 400, "VALIDATION_ERROR")
    assert "direction" in body["errors"]
