"""CallbackRoute moved from webhooks to sms with its rows: the table is renamed, not copied."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("sms", "0001_initial"), ("webhooks", "0001_initial")]
AFTER = [("sms", "0002_callbackroute"), ("webhooks", "0002_callbackroute_to_sms")]


def test_the_move_keeps_every_route(db):
    """Run inside the test's transaction: the migrations' DDL is rolled back with it."""
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO webhooks_callbackroute (provider, provider_message_id, schema_name,"
            " created_at) VALUES ('beem', '4242', 'tenant_a', now())"
        )

    executor.loader.build_graph()
    executor.migrate(AFTER)

    apps = executor.loader.project_state(AFTER).apps
    route = apps.get_model("sms", "CallbackRoute").objects.get(provider_message_id="4242")
    assert (route.provider, route.schema_name) == ("beem", "tenant_a")
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('webhooks_callbackroute')")
        assert cursor.fetchone() == (None,)
