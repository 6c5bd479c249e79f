"""Celery tasks carry their schema; a tenant task refuses to run in the public schema; eager
tasks receive their arguments as a broker would deliver them (tests/conftest.py)."""

import uuid

import pytest
from django.db import connection
from django_tenants.utils import get_public_schema_name

from mifumo.celery import TenantOnlyTask
from mifumo.celery import app as celery_app

RUNS: list[object] = []  # what the test tasks saw, in order


@celery_app.task(base=TenantOnlyTask, name="tests.platform.schema_of_the_run")
def schema_of_the_run():
    RUNS.append(connection.schema_name)
    return connection.schema_name


@pytest.fixture(autouse=True)
def runs():
    RUNS.clear()
    return RUNS


@celery_app.task(name="tests.platform.schema_of_a_shared_run")
def schema_of_a_shared_run():
    return connection.schema_name


@celery_app.task(name="tests.platform.arguments_received")
def arguments_received(*args, **kwargs):
    RUNS.append((args, kwargs))


def test_an_eager_task_gets_its_arguments_through_json(db, runs):
    arguments_received.delay(("a", 1), when={"at": 2.5})

    assert runs == [((["a", 1],), {"when": {"at": 2.5}})]


@pytest.mark.parametrize("argument", [uuid.uuid4(), object()], ids=["uuid", "object"])
def test_an_argument_a_broker_cannot_carry_fails_the_sender(db, runs, argument):
    with pytest.raises(TypeError, match="arguments_received was sent an argument a broker"):
        arguments_received.delay(argument)
    with pytest.raises(TypeError, match="not JSON serializable"):
        arguments_received.apply_async(kwargs={"id": argument})

    assert runs == []


def test_a_model_instance_is_no_task_argument(a, runs, on_commit):
    with pytest.raises(TypeError, match="Tenant is not JSON serializable"), on_commit():
        arguments_received.delay_on_commit(tenant=a.tenant)

    assert runs == []


def test_a_tenant_task_refuses_the_public_schema(db, runs):
    result = schema_of_the_run.apply()

    assert result.failed()
    with pytest.raises(RuntimeError, match="tenant schema"):
        result.get()
    assert runs == []


def test_a_tenant_task_runs_in_the_schema_it_was_sent_from(a):
    connection.set_tenant(a.tenant)

    result = schema_of_the_run.apply()

    assert result.successful()
    assert result.get() == a.tenant.schema_name


def test_the_schema_travels_in_the_task_headers(a):
    result = schema_of_the_run.apply(headers={"_schema_name": a.tenant.schema_name})

    assert result.get() == a.tenant.schema_name
    assert connection.schema_name == get_public_schema_name()


def test_the_sender_gets_its_own_schema_back(a, b):
    connection.set_tenant(a.tenant)

    result = schema_of_the_run.apply(headers={"_schema_name": b.tenant.schema_name})

    assert result.get() == b.tenant.schema_name
    assert connection.schema_name == a.tenant.schema_name


def test_delay_carries_the_schema_too(a):
    connection.set_tenant(a.tenant)

    assert schema_of_the_run.delay().get() == a.tenant.schema_name


def test_delay_on_commit_runs_after_commit_in_the_schema(a, on_commit, runs):
    connection.set_tenant(a.tenant)
    with on_commit():
        schema_of_the_run.delay_on_commit()
        assert runs == []

    assert runs == [a.tenant.schema_name]


def test_a_tenant_task_naming_the_public_schema_is_refused(a):
    connection.set_tenant(a.tenant)

    result = schema_of_the_run.apply(headers={"_schema_name": get_public_schema_name()})

    assert result.failed()
    assert isinstance(result.result, RuntimeError)


def test_other_tasks_may_run_in_the_public_schema(db):
    assert schema_of_a_shared_run.apply().get() == get_public_schema_name()
