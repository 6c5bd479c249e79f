"""The WSGI entry point: provider callbacks take the lean handler, everything else the full
middleware stack."""

import json

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.test import RequestFactory

from mifumo.wsgi import application
from webhooks.models import StatusEvent


def call(request) -> tuple[str, dict, dict]:
    """Run `request` through the real entry point; like Django's test client, keep the test's
    connection (and its transaction) open across the request."""
    answer = {}

    def start_response(status, headers, exc_info=None):
        answer.update(status=status, headers=dict(headers))

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(request.environ, start_response)
        body = b"".join(response)
        # As a WSGI server does: closing it ends the request (request_finished), which puts
        # back the thread's URLconf that a callback's request set.
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return answer["status"], answer["headers"], json.loads(body)


@pytest.fixture(autouse=True)
def token(settings):
    settings.BEEM_DLR_TOKEN = "wsgi-token"


def dlr(path="/webhooks/beem/dlr/wsgi-token/"):
    report = {
        "request_id": 9,
        "recipient_id": "r-1",
        "dest_addr": "255712000001",
        "status": "DELIVERED",
    }
    return RequestFactory().post(path, json.dumps(report), content_type="application/json")


def test_a_callback_is_stored_without_the_middleware_for_people(db):
    status, headers, body = call(dlr())

    assert status.startswith("200")
    assert body["data"] == {"received": 1}
    assert StatusEvent.objects.filter(provider="beem", reference="r-1").exists()
    assert "X-Frame-Options" not in headers


def test_a_refused_callback_still_answers_the_json_envelope(db):
    status, _, body = call(dlr("/webhooks/beem/dlr/wrong/"))

    assert status.startswith("404")
    assert body["error_code"] == "NOT_FOUND"


def test_a_path_under_webhooks_that_is_no_callback_is_a_json_404(db):
    status, _, body = call(RequestFactory().post("/webhooks/nowhere/", "{}", "application/json"))

    assert status.startswith("404")
    assert body["error_code"] == "NOT_FOUND"


def test_other_paths_take_the_full_stack(db):
    status, headers, body = call(RequestFactory().get("/api/health/"))

    assert status.startswith("200")
    assert headers["X-Frame-Options"] == "DENY"
    assert body["data"]["database"] == "ok"
