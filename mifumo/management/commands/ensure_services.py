import sys

import psycopg2
from django.conf import settings
from django.core.management.base import BaseCommand
from django_redis import get_redis_connection
from psycopg2 import sql
from redis.exceptions import RedisError


class Command(BaseCommand):
    help = "Check that Postgres and Redis answer; create the database when it is missing."
    requires_system_checks = []

    def handle(self, *args, **options):
        db = settings.DATABASES["default"]
        params = {
            "host": db.get("HOST") or None,
            "port": db.get("PORT") or None,
            "user": db.get("USER") or None,
            "password": db.get("PASSWORD") or None,
            "connect_timeout": 5,
        }
        try:
            conn = psycopg2.connect(dbname="postgres", **params)
        except psycopg2.OperationalError as exc:
            self._fail(
                f"PostgreSQL does not answer at {db.get('HOST')}:{db.get('PORT')} "
                f"(DATABASE_URL): {str(exc).strip()}\nStart it, or point DATABASE_URL at one."
            )
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute("SELECT 1 FROM pg_database WHERE datname = %s", [db["NAME"]])
            if cursor.fetchone() is None:
                cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(db["NAME"])))
                self.stdout.write(f"Created database {db['NAME']}.")
        conn.close()
        try:
            get_redis_connection("default").ping()
        except RedisError as exc:
            self._fail(
                f"Redis does not answer at {settings.REDIS_URL} (REDIS_URL): {exc}\n"
                "Start it, or point REDIS_URL at one."
            )
        self.stdout.write(f"PostgreSQL ({db['NAME']}) and Redis are reachable.")

    def _fail(self, message: str):
        self.stderr.write(self.style.ERROR(message))
        sys.exit(1)
