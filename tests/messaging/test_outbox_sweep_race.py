"""The sweep beside a worker whose lease lapsed while it is still alive: a hand-over that
worker is writing while the sweep decides is seen by the sweep, so the messages it names are
failed and refunded (only the provider knows their fate), never queued to be sent again."""

import threading
import uuid

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from messaging import outbox
from messaging.models import HandOver, Message
from tests.conftest import committed
from tests.messaging.helpers import queued_messages


@committed
def test_a_hand_over_written_while_the_sweep_decides_is_seen_by_it(committed_tenant):
    tenant = committed_tenant.tenant
    (message_id,) = queued_messages(tenant, 1)
    claim = uuid.uuid4()  # no lease in Redis: a dead claim to the sweep
    with tenant_context(tenant):
        Message.objects.filter(pk=message_id).update(
            status=Message.Status.SENDING, claim_id=claim, sending_at=timezone.now()
        )
    swept: dict[str, int] = {}

    def sweep() -> None:
        try:
            with tenant_context(tenant):
                swept.update(outbox.outbox_sweep(tenant=tenant))
        finally:
            connection.close()

    sweeper = threading.Thread(target=sweep)
    with tenant_context(tenant), transaction.atomic():  # the worker's INSERT, not yet committed
        HandOver.objects.create(claim_id=claim, message_ids=[message_id])
        sweeper.start()
        sweeper.join(1.0)
        assert sweeper.is_alive()  # the sweep waits for the hand-over to commit
    sweeper.join(10)

    assert swept == {"released": 0, "recovered": 0, "interrupted": 1, "requeued": 0}
    with tenant_context(tenant):
        assert Message.objects.get(pk=message_id).status == Message.Status.FAILED
        assert not HandOver.objects.exists()
