"""Bounded input: every oversized, over-nested or unstorable request is a 4xx in the envelope.

Each case here answered 500 (or Django's HTML) before mifumo.input_limits.
"""

import json

import pytest
from django.test import Client

from mifumo.errors import ApplicationError
from mifumo.input_limits import json_loads_bounded
from tests.envelope import assert_error
from tests.messaging.helpers import CONTACTS, SEGMENTS
from tests.sms.helpers import DELIVERY_REPORTS, status_url

CAMPAIGNS = "/api/messaging/campaigns/"


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def post_raw(api, user, url: str, body: str):
    return api(user).generic("POST", url, body, content_type="application/json")


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
def test_json_nested_too_deep_is_a_400_on_every_json_route(api, a, depth):
    body = json.dumps({"phone_number": "+255712000001", "attributes": {"x": "PLACEHOLDER"}})
    body = body.replace('"PLACEHOLDER"', nested(depth))

    assert_error(post_raw(api, a.owner, CONTACTS, body), 400, "NESTING_TOO_DEEP")
    assert_error(post_raw(api, a.owner, SEGMENTS, nested(depth)), 400, "NESTING_TOO_DEEP")


def test_json_as_deep_as_the_limit_is_read():
    assert json_loads_bounded(nested(32)) == json.loads(nested(32))
    with pytest.raises(ApplicationError):
        json_loads_bounded(nested(33))


def test_a_deep_beem_callback_is_a_400(settings):
    settings.BEEM_DLR_TOKEN = "dlr-token"
    response = Client().post(
        "/webhooks/beem/dlr/dlr-token/", nested(5_000), content_type="application/json"
    )

    assert_error(response, 400, "NESTING_TOO_DEEP")


@pytest.mark.parametrize("text", ["nul\u0000inside", "lone \ud800 surrogate"])
def test_nul_and_lone_surrogates_in_stored_json_are_a_400(api, a, text):
    contact = {"phone_number": "+255712000002", "attributes": {text: "v"}}
    segment = {"name": "S", "filters": {"all": [{"field": "city", "op": "eq", "value": text}]}}
    tenant = {"settings": {"language": text}}

    for url, body in [(CONTACTS, contact), (SEGMENTS, segment)]:
        response = post_raw(api, a.owner, url, json.dumps(body))
        assert_error(response, 400, "INVALID_CHARACTERS")
    response = api(a.owner).generic(
        "PUT", f"/api/tenants/{a.tenant.id}/", json.dumps(tenant), content_type="application/json"
    )
    assert_error(response, 400, "INVALID_CHARACTERS")


def test_nul_in_a_form_body_is_a_400(api, a):
    response = api(a.owner).post(CONTACTS, {"phone_number": "+255712000003", "first_name": "a\0"})

    assert_error(response, 400, "INVALID_CHARACTERS")


@pytest.mark.parametrize(
    "url",
    [
        f"{CAMPAIGNS}?search=%00",
        f"{CONTACTS}?tags=vip,%00",
        f"{CONTACTS}?tag=%00",
        f"{CONTACTS}?search=a%00b",
        f"{CONTACTS}%00/",
    ],
)
def test_nul_in_the_query_or_path_is_a_400(api, a, url):
    assert_error(api(a.owner).get(url), 400, "INVALID_CHARACTERS")


def test_huge_page_numbers_are_clamped_to_an_empty_page(api, a):
    reports = api(a.owner).get(f"{DELIVERY_REPORTS}?page={2**59}")
    status = api(a.owner).get(f"{status_url('00000000-0000-0000-0000-000000000000')}?page={2**59}")

    assert reports.status_code == 200
    assert reports.json()["data"]["reports"] == []
    assert_error(status, 404, "NOT_FOUND")  # no such send: the page number is no 500


def test_a_body_over_the_limit_is_a_413_before_it_is_read(api, a, settings):
    settings.REQUEST_MAX_BYTES = 1_000

    response = post_raw(api, a.owner, CONTACTS, json.dumps({"notes": "x" * 2_000}))

    assert_error(response, 413, "PAYLOAD_TOO_LARGE")


def test_a_list_body_where_an_object_is_expected_is_a_400(api, a):
    response = post_raw(api, a.owner, CONTACTS, "[null, null]")

    assert response.status_code == 400
    assert response.json()["success"] is False
