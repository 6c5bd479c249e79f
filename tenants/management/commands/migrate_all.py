from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from tenants.services import tenant_template_sync

# Messaging's migrations before the first release were squashed into 0001_initial (issue 13);
# a database that stopped part-way through them would be taken for up to date. Migrations
# made after the squash have other names and are none of these.
_SQUASHED = [
    "0002_contact_search_index",
    "0003_contact_search_separator",
    "0004_messages_and_send_requests",
    "0004_sendrequest_message_sendrequest_send_request_created_and_more",
    "0005_send_request_webhook_url",
    "0006_campaigns",
    "0007_campaign_runs",
    "0008_campaign_sends",
    "0009_message_claim",
    "0010_template_favorite_campaign_counters_window",
]
_SQUASHED_FINAL = "0011_campaign_estimated_credits_no_read_count"


class Command(BaseCommand):
    help = "Migrate the public schema, the tenant template schema and every tenant schema."

    def handle(self, *args, **options):
        self._refuse_a_database_older_than_the_squash()
        verbosity = options["verbosity"]
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        tenant_template_sync(verbosity=verbosity)
        call_command("migrate_schemas", tenant=True, interactive=False, verbosity=verbosity)

    def _refuse_a_database_older_than_the_squash(self) -> None:
        if "django_migrations" not in connection.introspection.table_names():
            return
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(*) FILTER (WHERE name = ANY(%s)), "
                "count(*) FILTER (WHERE name = %s) FROM django_migrations WHERE app = 'messaging'",
                [_SQUASHED, _SQUASHED_FINAL],
            )
            older, final = cursor.fetchone()
        if older and not final:
            raise CommandError(
                "This database has messaging migrations from before they were squashed and "
                "not all of them: recreate it (nothing was released before the squash), e.g. "
                f"dropdb {connection.settings_dict['NAME']} and run make again."
            )
