"""The schema tells the truth: schemathesis over /swagger.json, in process against the WSGI app.

Dashboard routes run with tenant A's owner's JWT, the integration API (/api/integration/v1/)
with one of tenant A's API keys. Every generated request, valid or not, must get an answer that
is not a server error, carries a documented status code and matches the documented body.
"""

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from rest_framework_simplejwt.tokens import AccessToken
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.generation.feedback import FeedbackSources
from schemathesis.pytest._test_builder import build_operation_test
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from integration.services.webhooks import webhook_endpoint_create
from mifumo.wsgi import application
from sms.services import sender_id_request
from tests.conftest import client_for
from tests.integration.helpers import key_for
from tests.messaging.helpers import make_contact, make_segment, make_template, new_phone
from tests.sms.helpers import SEND, fund

CHECKS = [not_a_server_error, response_schema_conformance, status_code_conformance]
INTEGRATION = "/integration/v1/"


def application_in_test_transaction(environ, start_response):
    """The real entry point; like Django's test client, it keeps the test's connection (and its
    rolled-back transaction) open across the request, up to the response's close."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, start_response)
        try:
            body = b"".join(response)
        finally:
            response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return [body]


CONFIG = SchemathesisConfig.from_dict(
    {
        "seed": 20240611,  # with derandomized Hypothesis, CI sees the same cases every run
        "generation": {
            # Fuzzed cases per operation, on top of the coverage phase's systematic ones (every
            # boundary and every wrong type of each parameter, which has no such bound).
            "max-examples": 5,
            "deterministic": True,
            "database": "none",
            # The credential is the test's own; a generated one would only ever meet the 401.
            "with-security-parameters": False,
        },
        # Operations are tested one at a time; sequences of calls are the journey tests' job.
        "phases": {"stateful": {"enabled": False}},
        "operations": [
            {
                # Each tenant created clones a Postgres schema (a fifth of a second): its valid
                # bodies come from the fuzzing phase only, not from every combination of fields.
                "include-path": "/tenants/",
                "include-method": "POST",
                "phases": {"coverage": {"generation": {"mode": "negative"}}},
            }
        ],
    }
)
# Loaded at collection, so that each operation is a test of its own (its own rolled-back
# transaction, its own xdist slot). /swagger.json is public, and the platform host picks no
# tenant, so loading it runs no query.
schema = schemathesis.openapi.from_wsgi(
    "/swagger.json", application_in_test_transaction, config=CONFIG
)
OPERATIONS = {result.ok().label: result.ok() for result in schema.get_all_operations()}


def labels(*, integration: bool) -> list[str]:
    return [
        label
        for label, operation in OPERATIONS.items()
        if operation.path.startswith(INTEGRATION) == integration
    ]


@pytest.fixture(autouse=True)
def rate_limits_out_of_the_way(settings):
    """Generated traffic is far above the per-minute limits; 429s are tested in test_rate_limits."""
    settings.RATE_LIMITS = {scope: "100000/min" for scope in settings.RATE_LIMITS}


@pytest.fixture
def a_in_use(a, on_commit):
    """Tenant A after a first day of use, so that lists answer real rows, blank optional fields
    included: contacts without a name or email, a segment, a template, a pending sender ID, a
    webhook, a draft campaign and a send."""
    phone = new_phone()
    make_contact(a.tenant, phone_e164=phone)
    make_contact(a.tenant, name="Asha", email="asha@example.com", tags=["vip"])
    vip = make_segment(a.tenant, name="VIPs", filter_json={"tags": ["vip"]})
    make_template(a.tenant, name="Greeting", content="Hello {{name}}")
    sender_id_request(tenant=a.tenant, name="Acme")
    webhook_endpoint_create(
        tenant=a.tenant,
        url="https://hooks.example.com/mifumo",
        events=["message.sent"],
        created_by=a.owner,
    )
    fund(a.tenant, 10)
    owner = client_for(a.owner)
    campaign = {"name": "Promo", "message_text": "Karibu!", "target_segment_ids": [str(vip.pk)]}
    with on_commit():
        drafted = owner.post("/api/messaging/campaigns/", campaign, format="json")
        sent = owner.post(SEND, {"message": "Karibu", "recipients": [phone]}, format="json")
    assert (drafted.status_code, sent.status_code) == (201, 201), (drafted.content, sent.content)
    return a


def assert_contract(label: str, authorization: str) -> None:
    """Runs schemathesis' examples, coverage and fuzzing phases for one operation.

    schemathesis' own pytest collection (`schema.parametrize()`) gives all its items one node id
    under pytest 9.2, so the operations are parametrized here and built by the same builder.
    """

    def call(case):
        case.call_and_validate(headers={"Authorization": authorization}, checks=CHECKS)

    operation = OPERATIONS[label]
    test = build_operation_test(
        config=schema.config,
        operation=operation,
        test_func=call,
        given_kwargs={},
        feedback=FeedbackSources(),
    )
    test()


@pytest.mark.parametrize("label", labels(integration=False))
def test_dashboard_routes_keep_their_contract(label, a_in_use):
    assert_contract(label, f"Bearer {AccessToken.for_user(a_in_use.owner)}")


@pytest.mark.parametrize("label", labels(integration=True))
def test_integration_routes_keep_their_contract(label, a_in_use):
    assert_contract(label, f"Bearer {key_for(a_in_use).key}")
