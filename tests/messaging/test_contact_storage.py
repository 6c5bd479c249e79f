"""Marking a send's contacts contacted leaves their indexes alone: messaging_contact keeps half
of each page free (migration 0005), so a new row version stays on its page (a HOT update), and
a tenant cloned from the template keeps that storage parameter."""

from django.db import connection
from django_tenants.utils import tenant_context

from messaging.models import Contact
from messaging.services.messages import contacts_mark_contacted, send_to_contacts
from tests.messaging.helpers import make_contacts
from tests.sms.helpers import fund


def storage_of(schema_name: str) -> list[str] | None:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.reloptions FROM pg_class AS c "
            "JOIN pg_namespace AS n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND c.relname = 'messaging_contact'",
            [schema_name],
        )
        return cursor.fetchone()[0]


def hot_updates_of_contacts() -> int:
    """HOT updates of the current schema's contacts in this transaction so far."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_get_xact_tuples_hot_updated('messaging_contact'::regclass)")
        return cursor.fetchone()[0]


def test_a_new_tenant_keeps_the_templates_contact_storage(a):
    assert storage_of(a.tenant.schema_name) == ["fillfactor=50"]


def test_marking_a_sends_contacts_contacted_is_a_hot_update(a):
    make_contacts(a.tenant, 300)
    fund(a.tenant, 300)
    with tenant_context(a.tenant):
        send = send_to_contacts(
            tenant=a.tenant,
            contacts=Contact.objects.all(),
            sender="INFO",
            text="Habari!",
            template=None,
        )
        before = hot_updates_of_contacts()

        marked = contacts_mark_contacted(send_request_id=str(send.pk))

        hot = hot_updates_of_contacts() - before
        # A version with its time is a little longer than one without: the last few rows of
        # a page written full at 50% find no room on it.
        assert marked == 300 and hot >= 270
        assert not Contact.objects.filter(last_contacted_at__isnull=True).exists()
