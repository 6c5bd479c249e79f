"""Prepared statements for the few statements that run thousands of times a second (provider
callbacks): Postgres plans each once per connection instead of on every call.

psycopg2 prepares nothing itself, so this keeps SQL `PREPARE` by hand: a statement is prepared
on a connection's first use of it, and the names a connection holds are remembered with that
connection (a reconnect starts with none). `PREPARE` is not transactional: a rollback keeps the
statement. A pooler in transaction mode (PgBouncer) would break this, as it would hand the
session's statements to other clients; Mifumo's processes connect to Postgres directly.
"""

import itertools
import re
import weakref
from collections.abc import Sequence
from typing import Any

from django.db import connection

# The names prepared on each open psycopg2 connection; gone with the connection.
_prepared: "weakref.WeakKeyDictionary[Any, set[str]]" = weakref.WeakKeyDictionary()

_PLACEHOLDER = re.compile(r"%s")


class PreparedStatement:
    """`sql` as cursor.execute takes it, with positional `%s` placeholders only, each cast to
    its type where Postgres could not tell it from the context."""

    def __init__(self, name: str, sql: str) -> None:
        if "%(" in sql or "%%" in sql:
            raise ValueError("A prepared statement takes positional %s placeholders only.")
        numbers = itertools.count(1)
        self.name = name
        self._body, count = _PLACEHOLDER.subn(lambda _: f"${next(numbers)}", sql)
        self._execute = f"EXECUTE {name}({', '.join(['%s'] * count)})"

    def execute(self, params: Sequence[Any], *, before: str = "") -> list[tuple[Any, ...]]:
        """Run it on the current connection with `params`; its rows, if it returns any.
        `before` is SQL sent in the same query string ahead of it (a `SET LOCAL`)."""
        with connection.cursor() as cursor:
            names = _prepared.setdefault(cursor.connection, set())
            if self.name not in names:
                cursor.execute(f"PREPARE {self.name} AS {self._body}")
                names.add(self.name)
            cursor.execute(before + self._execute, params)
            return cursor.fetchall() if cursor.description else []
