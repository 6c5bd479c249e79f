"""outbox_cancel_send: a send's messages not handed over yet are canceled and their credits
refunded in one transaction; what is being sent or was sent stays as it is."""

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from billing.models import CreditLedgerEntry
from billing.services import credit_reserve
from messaging.models import Message, SendRequest
from messaging.outbox import outbox_cancel_send
from tests.messaging.helpers import message_fields
from tests.sms.helpers import balance_of, fund

Status = Message.Status


def a_send(tenant, statuses_and_credits: list[tuple[str, int]]) -> SendRequest:
    """A send whose messages have these statuses and credits, its credits reserved."""
    total = sum(credits for _, credits in statuses_and_credits)
    with tenant_context(tenant):
        send = SendRequest.objects.create(
            text="Hi",
            sender_id="Taarifa-SMS",
            encoding="GSM-7",
            segments=1,
            recipient_count=len(statuses_and_credits),
            credits=total,
        )
        Message.objects.bulk_create(
            Message(
                **message_fields(
                    send_request=send, status=status, credits=credits, queued_at=timezone.now()
                )
            )
            for status, credits in statuses_and_credits
        )
    credit_reserve(tenant_id=tenant.pk, credits=total, reference=send.pk)
    return send


def statuses_of(tenant, send) -> list[tuple[str, int, bool]]:
    with tenant_context(tenant):
        rows = Message.objects.filter(send_request=send).order_by("credits")
        return [(m.status, m.credits, m.canceled_at is not None) for m in rows]


@pytest.fixture
def send(a):
    fund(a.tenant, 20)
    return a_send(
        a.tenant,
        [(Status.SCHEDULED, 1), (Status.QUEUED, 2), (Status.SENDING, 4), (Status.SENT, 8)],
    )


def test_canceling_a_send_cancels_what_was_not_handed_over_and_refunds_exactly_that(a, send):
    with tenant_context(a.tenant):
        canceled = outbox_cancel_send(
            tenant_id=a.tenant.pk, send_request_id=send.pk, reason="Campaign cancelled"
        )

    assert canceled == 2
    assert statuses_of(a.tenant, send) == [
        (Status.CANCELED, 1, True),
        (Status.CANCELED, 2, True),
        (Status.SENDING, 4, False),
        (Status.SENT, 8, False),
    ]
    assert balance_of(a.tenant) == 20 - 15 + 3
    refund = CreditLedgerEntry.objects.get(tenant=a.tenant, kind="refund")
    assert (refund.credits, refund.reference) == (3, str(send.pk))
    assert refund.reason == "Campaign cancelled: 2 message(s) not sent"


def test_canceling_twice_cancels_and_refunds_nothing_more(a, send):
    with tenant_context(a.tenant):
        outbox_cancel_send(tenant_id=a.tenant.pk, send_request_id=send.pk, reason="Stop")
        again = outbox_cancel_send(tenant_id=a.tenant.pk, send_request_id=send.pk, reason="Stop")

    assert again == 0
    assert CreditLedgerEntry.objects.filter(tenant=a.tenant, kind="refund").count() == 1
    assert balance_of(a.tenant) == 20 - 15 + 3


def test_canceling_one_send_leaves_another_send_alone(a, send):
    other = a_send(a.tenant, [(Status.QUEUED, 1)])

    with tenant_context(a.tenant):
        outbox_cancel_send(tenant_id=a.tenant.pk, send_request_id=send.pk, reason="Stop")

    assert statuses_of(a.tenant, other) == [(Status.QUEUED, 1, False)]
