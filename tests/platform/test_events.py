"""Domain events (mifumo/events.py): subscribers run after commit, never for a rollback, in
the publisher's schema, with a JSON copy of the payload; a failing subscriber is logged and
the others still run."""

import importlib.util
import uuid
from unittest import mock

import pytest
from django.db import transaction
from django_tenants.utils import tenant_context

from mifumo import events

SEEN: list[events.Event] = []


def remember(event: events.Event) -> None:
    SEEN.append(event)


def fail(event: events.Event) -> None:
    raise RuntimeError("this subscriber is broken")


@pytest.fixture(autouse=True)
def subscribed():
    SEEN.clear()
    saved = dict(events._subscribers)
    events._subscribers.clear()
    yield
    events._subscribers.clear()
    events._subscribers.update(saved)


def test_subscribers_run_once_the_transaction_commits(a, on_commit):
    events.subscribe("test.happened", remember)

    with on_commit(), tenant_context(a.tenant):
        events.publish("test.happened", {"ids": ["1"]})
        assert SEEN == []

    (event,) = SEEN
    assert (event.type, event.schema_name, event.payload) == (
        "test.happened",
        a.tenant.schema_name,
        {"ids": ["1"]},
    )


def test_a_rolled_back_transaction_publishes_nothing(db, django_capture_on_commit_callbacks):
    events.subscribe("test.happened", remember)

    with (
        django_capture_on_commit_callbacks(execute=True),
        pytest.raises(RuntimeError),
        transaction.atomic(),
    ):
        events.publish("test.happened", {})
        raise RuntimeError("the work failed")

    assert SEEN == []


def test_a_family_subscription_gets_every_event_of_the_family_once(db, on_commit):
    events.subscribe("test.*", remember)
    events.subscribe("test.*", remember)  # a second ready() subscribes nothing more

    with on_commit():
        events.publish("test.one", {})
        events.publish("other.one", {})
        events.publish("test.two", {})

    assert [event.type for event in SEEN] == ["test.one", "test.two"]


def test_a_payload_is_a_json_copy(db, on_commit):
    events.subscribe("test.happened", remember)
    payload = {"ids": ("1", "2")}

    with on_commit():
        events.publish("test.happened", payload)
    payload["ids"] = ()

    assert SEEN[0].payload == {"ids": ["1", "2"]}


def test_a_payload_a_broker_cannot_carry_fails_the_publisher(db):
    with pytest.raises(TypeError, match="not JSON serializable"):
        events.publish("test.happened", {"id": uuid.uuid4()})


def test_a_failing_subscriber_is_logged_and_the_others_still_run(a, on_commit, caplog):
    events.subscribe("test.happened", fail)
    events.subscribe("test.happened", remember)

    # tests/conftest.py makes a failing subscriber fail its test; this is the production way.
    spec = importlib.util.find_spec("mifumo.events")
    production = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(production)
    with (
        mock.patch.object(events, "_deliver", production._deliver),
        on_commit(),
        tenant_context(a.tenant),
    ):
        events.publish("test.happened", {})

    assert [event.type for event in SEEN] == ["test.happened"]
    assert "Subscriber fail failed on test.happened" in caplog.text
