"""Two tenants, each with an owner, an admin and an agent, created once per test session.

Tenant schemas are cloned from the template schema, so creating more in a test is cheap.
Each test runs in a transaction that is rolled back, and starts with an empty Redis database.
Tasks run eagerly, their arguments carried through JSON as a broker would carry them, and an
event subscriber that fails fails the test.
"""

import json
import uuid
from types import SimpleNamespace

import pytest
from celery.app.task import Task
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django_redis import get_redis_connection
from django_tenants.utils import get_public_schema_name
from rest_framework.test import APIClient
from rest_framework_simplejwt.tokens import AccessToken

from accounts.models import User
from mifumo import events
from tenants.models import Role, Tenant
from tenants.services import tenant_template_sync
from tests.factories import UserFactory, add_member, tenant_with_owner

PASSWORD = "Correct-Horse-9"


_CONNECTION_SETUP = ("SET search_path", "PREPARE ")


def _statements_doing_work(self: CaptureQueriesContext) -> list[dict]:
    """What a CaptureQueriesContext (and so django_assert_num_queries) counts: the statements
    captured, without django-tenants' `SET search_path` nor mifumo.prepared's `PREPARE`.
    Whether a request makes either depends on what earlier work left on the connection (the
    schema set by tenants.middleware, the statements prepared), not on its own work."""
    captured = self.connection.queries[self.initial_queries : self.final_queries]
    return [query for query in captured if not query["sql"].startswith(_CONNECTION_SETUP)]


CaptureQueriesContext.captured_queries = property(_statements_doing_work)  # type: ignore[assignment,method-assign]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        tenant_template_sync()
        for key in ("a", "b"):
            tenant, _ = tenant_with_owner(
                owner=UserFactory(email=f"owner-{key}@example.com"),
                name=f"Tenant {key.upper()}",
                subdomain=f"tenant-{key}",
            )
            add_member(tenant, UserFactory(email=f"admin-{key}@example.com"), Role.ADMIN)
            add_member(tenant, UserFactory(email=f"agent-{key}@example.com"), Role.AGENT)


def _world(key: str) -> SimpleNamespace:
    users = {
        u.email.split("-")[0]: u for u in User.objects.filter(email__endswith=f"-{key}@example.com")
    }
    return SimpleNamespace(tenant=Tenant.objects.get(subdomain=f"tenant-{key}"), **users)


@pytest.fixture
def a(db):
    """Tenant A with .tenant, .owner, .admin, .agent."""
    return _world("a")


@pytest.fixture
def b(db):
    """Tenant B, the foreign tenant whose data tenant A's users must never reach."""
    return _world("b")


@pytest.fixture(autouse=True, scope="session")
def tasks_cross_as_json():
    """Eager tasks receive their arguments through plain JSON, as from a broker. Celery's own
    eager round trip uses kombu's JSON, which also carries UUIDs, datetimes and Decimals; task
    arguments are ids and plain values (STYLE rule 4), so anything else fails where it is sent."""
    send = Task.apply_async

    def apply_async(task, args=None, kwargs=None, *rest, **options):
        if task._get_app().conf.task_always_eager:
            try:
                args, kwargs = json.loads(json.dumps([args or (), kwargs or {}]))
            except TypeError as exc:
                message = f"{task.name} was sent an argument a broker cannot carry: {exc}"
                raise TypeError(message) from exc
        return send(task, args, kwargs, *rest, **options)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(Task, "apply_async", apply_async)
        yield


@pytest.fixture(autouse=True, scope="session")
def subscribers_raise():
    """A subscriber that fails fails the test: in production it is logged and the producer's
    work stands (mifumo.events), which would hide it here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(events, "_deliver", lambda subscriber, event: subscriber(event))
        yield


@pytest.fixture(autouse=True)
def clean_state():
    get_redis_connection("default").flushdb()
    yield
    connection.set_schema(get_public_schema_name())


def client_for(user=None, **headers) -> APIClient:
    client = APIClient()
    if user is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {AccessToken.for_user(user)}", **headers)
    elif headers:
        client.credentials(**headers)
    return client


@pytest.fixture
def api():
    """api(user=None, **headers) -> an APIClient signed in as `user`."""
    return client_for


@pytest.fixture
def on_commit(django_capture_on_commit_callbacks):
    """Run on-commit side effects (tasks, emails) of the block, as a committed request would."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


# For tests whose data another connection must see (concurrent requests, a real worker):
# mark them `committed` and use `committed_tenant`. With no available apps nothing is flushed
# after them, so the session's tenants survive; the fixture drops what it made.
committed = pytest.mark.django_db(transaction=True, available_apps=[])


@pytest.fixture
def committed_tenant(transactional_db):
    """A fresh tenant and owner committed to the test database, dropped afterwards."""
    # `available_apps=[]` also hides every app from the registry; the test needs them all.
    apps.unset_available_apps()
    try:
        owner = UserFactory()
        tenant, _ = tenant_with_owner(
            owner=owner, name="Committed", subdomain=f"committed-{uuid.uuid4().hex[:8]}"
        )
        yield SimpleNamespace(tenant=tenant, owner=owner)
        connection.set_schema(get_public_schema_name())
        tenant.delete(force_drop=True)
        owner.delete()
    finally:
        apps.set_available_apps([])  # as the test case's teardown expects to find it
