"""mifumo.prepared: a statement is prepared once per connection, again after a reconnect, and
kept through a rollback; named placeholders are refused."""

import pytest
from django.db import connection, transaction

from mifumo.prepared import PreparedStatement

pytestmark = pytest.mark.django_db(transaction=True)

# A table of the session only, so the statements have something to write to.
ECHO = PreparedStatement(
    "test_prepared_echo", "INSERT INTO prepared_echo (n, word) VALUES (%s::int, %s::text)"
)


@pytest.fixture
def echo_table():
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE IF NOT EXISTS prepared_echo (n int, word text)")
        cursor.execute("TRUNCATE prepared_echo")
    yield


def rows() -> list[tuple[int, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT n, word FROM prepared_echo ORDER BY n")
        return cursor.fetchall()


def prepared_names() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements ORDER BY name")
        return [name for (name,) in cursor.fetchall()]


def test_a_statement_is_prepared_once_per_connection(echo_table):
    ECHO.execute([1, "moja"])
    ECHO.execute([2, "mbili"])
    assert rows() == [(1, "moja"), (2, "mbili")]
    assert prepared_names().count("test_prepared_echo") == 1


def test_a_new_connection_prepares_it_again():
    statement = PreparedStatement("test_prepared_now", "SELECT %s::int")
    statement.execute([1])
    connection.close()  # the next query opens a new session, which holds no statement
    assert "test_prepared_now" not in prepared_names()
    statement.execute([2])
    assert "test_prepared_now" in prepared_names()


def test_a_rollback_keeps_the_statement():
    connection.close()  # so that it is prepared inside the transaction that rolls back
    with connection.cursor() as cursor:
        cursor.execute("CREATE TEMPORARY TABLE prepared_echo (n int, word text)")
    with pytest.raises(RuntimeError), transaction.atomic():
        ECHO.execute([1, "moja"])
        raise RuntimeError("roll back")
    assert rows() == []
    assert "test_prepared_echo" in prepared_names()
    ECHO.execute([3, "tatu"])  # no second PREPARE, which would fail as a duplicate
    assert rows() == [(3, "tatu")]


def test_the_sql_before_it_runs_in_the_same_query_string(echo_table):
    with transaction.atomic():
        ECHO.execute([4, "nne"], before="SET LOCAL synchronous_commit TO off; ")
        with connection.cursor() as cursor:
            cursor.execute("SHOW synchronous_commit")
            assert cursor.fetchone() == ("off",)
    assert rows() == [(4, "nne")]


@pytest.mark.parametrize("sql", ["SELECT %(n)s", "SELECT '100%%', %s"])
def test_only_positional_placeholders_are_taken(sql):
    with pytest.raises(ValueError, match="positional"):
        PreparedStatement("test_prepared_bad", sql)
