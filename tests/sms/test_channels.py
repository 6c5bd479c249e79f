"""Channels per tenant: /api/messaging/channels/ and the seed's /api/messaging/sms/providers/,
credentials checked against the fake Beem and Twilio servers (tests/fakes/) on real sockets,
encrypted at rest and never shown; the address index, platform numbers (admin and
`manage.py assign_number`) and each tenant's sandbox number."""

import functools
import io
import logging
import os
import re
import subprocess
import sys

import pytest
from django.conf import settings as django_settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.models import User
from sms import channels, selectors
from sms.credentials import credentials_decrypt
from sms.models import Channel, ChannelAddress
from sms.providers import provider_for_account
from sms.providers.beem import BeemProvider
from sms.providers.twilio import TwilioProvider
from tenants.models import Tenant
from tenants.services import tenant_create
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.factories import UserFactory
from tests.fakes.beem import FakeBeem
from tests.fakes.twilio import FakeTwilio

CHANNELS = "/api/messaging/channels/"
SMS_PROVIDERS = "/api/messaging/sms/providers/"
SMS_PROVIDERS_LITERAL = "/api/messaging/sms/sms/providers/"
CHANNEL_FIELDS = {
    "id",
    "name",
    "provider",
    "is_platform",
    "is_default",
    "is_active",
    "addresses",
    "credentials",
    "verified_at",
    "created_at",
    "updated_at",
}
# Distinctive values, so that finding one anywhere is a leak and not a coincidence.
BEEM_KEY = "beem-key-5e0c9a7731"
BEEM_SECRET = "beem-secret-f3b1d2c8e4a6"
TWILIO_SID = "AC5a7d0e9c3b1f4a6e8d2c0b9a7f5e3d11"
TWILIO_TOKEN = "twilio-token-8c6e4a2b0d9f"
SECRETS = (BEEM_KEY, BEEM_SECRET, TWILIO_TOKEN)
SANDBOX_NUMBER = re.compile(r"^\+2557\d{8}$")


def url(channel) -> str:
    return f"{CHANNELS}{channel.pk if hasattr(channel, 'pk') else channel}/"


def beem_body(**fields) -> dict:
    return {
        "provider": "beem",
        "name": "Our Beem",
        "credentials": {"api_key": BEEM_KEY, "secret_key": BEEM_SECRET},
        **fields,
    }


def twilio_body(**fields) -> dict:
    return {
        "provider": "twilio",
        "credentials": {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN},
        **fields,
    }


@pytest.fixture
def beem(settings):
    with FakeBeem(api_key=BEEM_KEY, secret_key=BEEM_SECRET) as fake:
        settings.BEEM_SEND_URL = fake.send_url
        settings.BEEM_BALANCE_URL = fake.balance_url
        settings.BEEM_TIMEOUT_SECONDS = 2
        yield fake


@pytest.fixture
def twilio(settings):
    with FakeTwilio(account_sid=TWILIO_SID, auth_token=TWILIO_TOKEN) as fake:
        settings.TWILIO_API_BASE_URL = fake.url
        settings.TWILIO_TIMEOUT_SECONDS = 2
        yield fake


def beem_channel(tenant, **fields) -> Channel:
    return channels.channel_create(
        tenant=tenant,
        provider="beem",
        credentials={"api_key": BEEM_KEY, "secret_key": BEEM_SECRET},
        **fields,
    )


def twilio_channel(tenant, **fields) -> Channel:
    return channels.channel_create(
        tenant=tenant,
        provider="twilio",
        credentials={"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN},
        **fields,
    )


def sent_nothing(*fakes) -> bool:
    return all(not fake.accepted and {r.method for r in fake.requests} <= {"GET"} for fake in fakes)


def listed(client, path=CHANNELS, **params) -> list[dict]:
    return ok_data(client.get(path, params))["results"]


def sandbox_of(tenant) -> Channel:
    """The tenant's platform sandbox channel: with SMS_PROVIDER=sandbox, as in the tests, every
    tenant has it from its creation (tenant.created), the session's tenants A and B too."""
    return Channel.objects.get(tenant=tenant, provider="sandbox", is_platform=True)


def made_nothing(tenant) -> bool:
    """The tenant has no channel but the sandbox one it was created with."""
    held = Channel.objects.filter(tenant=tenant).values_list("provider", "is_platform")
    return list(held) == [("sandbox", True)]


def assert_lists_only_its_sandbox(client, tenant, path=CHANNELS) -> None:
    """The client's list holds its tenant's sandbox channel and nothing else: nothing made
    since, and nothing of another tenant's."""
    assert [c["id"] for c in listed(client, path)] == [str(sandbox_of(tenant).pk)]


def assert_foreign_404(client, channel) -> None:
    """Every route of one channel answers another tenant's member with the uniform 404."""
    for response in (
        client.get(url(channel)),
        client.put(url(channel), {"name": "Mine now"}, "json"),
        client.delete(url(channel)),
        client.post(f"{url(channel)}test/"),
    ):
        assert_error(response, 404, "NOT_FOUND")


# --- Creating


def test_an_owner_adds_a_beem_channel_its_credentials_checked_and_never_shown(api, a, b, beem):
    response = api(a.owner).post(CHANNELS, beem_body(addresses=["Acme Shop"]), "json")

    data = ok_data(response, 201)
    assert set(data) == CHANNEL_FIELDS
    assert (data["provider"], data["name"], data["is_platform"]) == ("beem", "Our Beem", False)
    assert (data["is_default"], data["is_active"]) == (True, True)  # the first of its provider
    assert data["addresses"] == [{"address": "Acme Shop", "kind": "sender_id"}]
    assert data["credentials"] == {"api_key": "****7731", "secret_key": "****e4a6"}
    assert data["verified_at"] is not None
    assert not any(secret in response.content.decode() for secret in SECRETS)
    # Checked with the balance call, and nothing sent.
    assert [(r.method, r.path) for r in beem.requests] == [("GET", "/public/v1/vendors/balance")]
    assert sent_nothing(beem)
    stored = Channel.objects.get(pk=data["id"])
    assert stored.tenant_id == a.tenant.id
    assert stored.created_by_id == a.owner.id
    assert BEEM_SECRET not in stored.credentials and BEEM_KEY not in stored.credentials
    assert credentials_decrypt(stored.credentials) == {
        "api_key": BEEM_KEY,
        "secret_key": BEEM_SECRET,
    }
    # Tenant B neither sees it nor reaches it.
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)
    assert_foreign_404(api(b.owner), stored)


def test_a_twilio_channel_keeps_numbers_in_e164_sender_ids_as_typed_and_shortcodes(
    api, a, b, twilio
):
    body = twilio_body(addresses=["0712 345 678", "+1 (500) 555-0006", "Acme-TZ", "15 300"])

    data = ok_data(api(a.admin).post(CHANNELS, body, "json"), 201)

    assert data["addresses"] == [
        {"address": "+255712345678", "kind": "number"},
        {"address": "+15005550006", "kind": "number"},
        {"address": "Acme-TZ", "kind": "sender_id"},
        {"address": "15300", "kind": "shortcode"},
    ]
    assert data["credentials"] == {"account_sid": "****3d11", "auth_token": "****0d9f"}
    assert [(r.method, r.path) for r in twilio.requests] == [
        ("GET", f"/2010-04-01/Accounts/{TWILIO_SID}.json")
    ]
    assert sent_nothing(twilio)
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)


def test_refused_credentials_are_a_400_that_stores_nothing_and_echoes_nothing(api, a, b, beem):
    body = beem_body(credentials={"api_key": BEEM_KEY, "secret_key": "wrong-secret-0a1b2c3d"})

    response = api(a.owner).post(CHANNELS, body, "json")

    body = assert_error(response, 400, "CHANNEL_CREDENTIALS_INVALID")
    assert body["details"]["provider"] == "beem"
    assert "401" in body["message"]
    assert "wrong-secret-0a1b2c3d" not in response.content.decode()
    assert BEEM_KEY not in response.content.decode()
    assert made_nothing(a.tenant)
    assert sent_nothing(beem)
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)  # nothing was made, for anyone to see


def test_an_unreachable_provider_is_refused_too(api, a, b, settings):
    settings.BEEM_BALANCE_URL = "http://127.0.0.1:9/balance"  # nothing listens on discard

    response = api(a.owner).post(CHANNELS, beem_body(), "json")

    assert_error(response, 400, "CHANNEL_CREDENTIALS_INVALID")
    assert made_nothing(a.tenant)
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)  # nothing was made, for anyone to see


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"provider": "nexmo", "credentials": {"api_key": "x"}}, "provider"),
        ({"credentials": {"api_key": "x"}}, "provider"),
        ({"provider": "sandbox"}, "provider"),
        ({"provider": "whatsapp", "credentials": {"access_token": "x"}}, "provider"),
        ({"provider": "beem", "credentials": {"api_key": BEEM_KEY}}, "credentials"),
        ({"provider": "beem"}, "credentials"),
        (beem_body(credentials={"api_key": "k", "secret_key": "s", "pin": "1"}), "credentials"),
        (beem_body(addresses=["not a number!"]), "addresses"),
        (beem_body(addresses=["12"]), "addresses"),
        (beem_body(is_default=True, is_active=False), "is_default"),
    ],
)
def test_what_a_provider_does_not_take_is_a_field_error(api, a, b, beem, body, field):
    assert_field_errors(api(a.owner).post(CHANNELS, body, "json"), field)

    assert made_nothing(a.tenant)
    assert beem.requests == []  # refused before the provider is asked
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)  # nothing was made, for anyone to see


def test_a_credential_error_names_the_fields_never_the_values(api, a, b, beem):
    body = beem_body(credentials={"api_key": BEEM_KEY, "token": BEEM_SECRET})

    response = api(a.owner).post(CHANNELS, body, "json")

    body = assert_field_errors(response, "credentials")
    assert "token" in body["message"]
    assert BEEM_SECRET not in response.content.decode()
    assert BEEM_KEY not in response.content.decode()
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)  # nothing was made, for anyone to see


def test_agents_read_channels_but_only_owners_and_admins_manage_them(api, a, b, beem):
    channel = beem_channel(a.tenant)
    agent = api(a.agent)

    # By provider: beem, then the sandbox channel the tenant was created with.
    assert [c["id"] for c in listed(agent)] == [str(channel.pk), str(sandbox_of(a.tenant).pk)]
    assert ok_data(agent.get(url(channel)))["id"] == str(channel.pk)
    for response in (
        agent.post(CHANNELS, beem_body(), "json"),
        agent.post(SMS_PROVIDERS, beem_body(), "json"),
        agent.put(url(channel), {"name": "Agent's"}, "json"),
        agent.delete(url(channel)),
        agent.post(f"{url(channel)}test/"),
    ):
        assert_error(response, 403, "PERMISSION_DENIED")
    channel.refresh_from_db()
    assert (channel.name, channel.deleted_at) == ("Beem Africa", None)
    assert_lists_only_its_sandbox(api(b.agent), b.tenant)
    assert_foreign_404(api(b.admin), channel)


def test_an_address_another_tenant_holds_is_a_409_that_does_not_name_it(api, a, b, twilio):
    twilio_channel(b.tenant, addresses=["+255712000111"])

    response = api(a.owner).post(CHANNELS, twilio_body(addresses=["0712 000 111"]), "json")

    body = assert_error(response, 409, "CONFLICT")
    assert body["details"] == {"address": "+255712000111"}
    assert "another account" in body["message"]
    assert "Tenant B" not in response.content.decode()
    assert "tenant-b" not in response.content.decode()
    assert made_nothing(a.tenant)


def test_the_same_address_on_another_provider_is_another_address(a, b, beem, twilio):
    twilio_channel(b.tenant, addresses=["+255712000222"])

    channel = beem_channel(a.tenant, addresses=["+255712000222"])

    assert [x.address for x in channel.addresses.all()] == ["+255712000222"]


def test_an_address_of_another_of_its_channels_is_named_as_such(api, a, b, twilio):
    twilio_channel(a.tenant, addresses=["+255712000333"])

    response = api(a.owner).post(CHANNELS, twilio_body(addresses=["+255712000333"]), "json")

    assert "another of your channels" in assert_error(response, 409, "CONFLICT")["message"]
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)


# --- Reading


def test_the_list_groups_by_provider_default_first_and_filters_by_provider(api, a, b, beem, twilio):
    first = beem_channel(a.tenant, name="First")
    second = beem_channel(a.tenant, name="Second", is_default=True)
    other = twilio_channel(a.tenant)
    twilio_channel(b.tenant, name="B's")

    items = listed(api(a.agent))

    assert [(c["id"], c["is_default"]) for c in items] == [
        (str(second.pk), True),
        (str(first.pk), False),
        (str(sandbox_of(a.tenant).pk), True),
        (str(other.pk), True),
    ]
    assert [c["id"] for c in listed(api(a.agent), provider="twilio")] == [str(other.pk)]
    assert_field_errors(api(a.agent).get(CHANNELS, {"provider": "nexmo"}), "provider")
    assert "B's" not in str(listed(api(a.owner)))


def test_the_list_costs_the_same_queries_for_more_channels(
    api, a, b, beem, django_assert_max_num_queries
):
    client = api(a.owner)
    beem_channel(a.tenant, addresses=["Acme"])
    with CaptureQueriesContext(connection) as one:
        ok_data(client.get(CHANNELS))
    for n in range(5):
        beem_channel(a.tenant, addresses=[f"Acme{n}", f"+25571200044{n}"])
    with django_assert_max_num_queries(len(one.captured_queries)):
        assert len(ok_data(client.get(CHANNELS))["results"]) == 7  # and the sandbox channel
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)


def test_the_seeds_sms_providers_route_lists_and_creates_sms_channels(api, a, b, beem):
    created = ok_data(api(a.owner).post(SMS_PROVIDERS_LITERAL, beem_body(), "json"), 201)

    assert created["provider"] == "beem"
    for path in (SMS_PROVIDERS, SMS_PROVIDERS_LITERAL):
        assert {c["provider"] for c in listed(api(a.agent), path)} == {"sandbox", "beem"}
        assert [c["provider"] for c in listed(api(a.agent), path, provider="beem")] == ["beem"]
        assert_lists_only_its_sandbox(api(b.owner), b.tenant, path)
    whatsapp = {"provider": "whatsapp", "credentials": {"access_token": "x"}}
    assert_field_errors(api(a.owner).post(SMS_PROVIDERS, whatsapp, "json"), "provider")


def test_every_route_is_in_the_schema(client):
    paths = client.get("/swagger.json").json()["paths"]

    assert set(paths["/messaging/channels/"]) >= {"get", "post"}
    assert set(paths["/messaging/channels/{channel_id}/"]) >= {"get", "put", "delete"}
    assert set(paths["/messaging/channels/{channel_id}/test/"]) >= {"post"}
    assert set(paths["/messaging/sms/providers/"]) >= {"get", "post"}
    assert set(paths["/messaging/sms/sms/providers/"]) >= {"get", "post"}


# --- Changing


def test_a_put_changes_what_it_is_given(api, a, b, beem):
    channel = beem_channel(a.tenant, addresses=["Acme", "+255712000444"])

    data = ok_data(
        api(a.admin).put(url(channel), {"name": "Main", "addresses": ["Acme", "Duka"]}, "json")
    )

    assert data["name"] == "Main"
    assert [x["address"] for x in data["addresses"]] == ["Acme", "Duka"]
    assert not ChannelAddress.objects.filter(address="+255712000444").exists()
    assert data["credentials"] == {"api_key": "****7731", "secret_key": "****e4a6"}
    assert_foreign_404(api(b.owner), channel)


def test_new_credentials_merge_with_the_stored_and_are_checked_first(api, a, b, beem):
    channel = beem_channel(a.tenant)
    beem.secret_key = "rotated-secret-77aa11"

    response = api(a.owner).put(
        url(channel), {"credentials": {"secret_key": "rotated-secret-77aa11"}}, "json"
    )

    data = ok_data(response)
    assert data["credentials"] == {"api_key": "****7731", "secret_key": "****aa11"}
    assert "rotated-secret-77aa11" not in response.content.decode()
    channel.refresh_from_db()
    assert credentials_decrypt(channel.credentials) == {
        "api_key": BEEM_KEY,
        "secret_key": "rotated-secret-77aa11",
    }
    # A refused change keeps what was stored.
    refused = api(a.owner).put(url(channel), {"credentials": {"secret_key": "nope"}}, "json")
    assert_error(refused, 400, "CHANNEL_CREDENTIALS_INVALID")
    channel.refresh_from_db()
    assert credentials_decrypt(channel.credentials)["secret_key"] == "rotated-secret-77aa11"
    assert sent_nothing(beem)
    assert_foreign_404(api(b.owner), channel)


def test_one_default_per_provider_and_an_inactive_channel_is_none(api, a, b, beem, twilio):
    first = beem_channel(a.tenant)
    second = beem_channel(a.tenant)
    other = twilio_channel(a.tenant)
    assert (first.is_default, second.is_default, other.is_default) == (True, False, True)

    ok_data(api(a.owner).put(url(second), {"is_default": True}, "json"))
    defaults = Channel.objects.filter(tenant=a.tenant, is_default=True)
    assert set(defaults.values_list("pk", flat=True)) == {
        second.pk,
        other.pk,
        sandbox_of(a.tenant).pk,  # another provider's default, untouched
    }

    data = ok_data(api(a.owner).put(url(second), {"is_active": False}, "json"))
    assert (data["is_active"], data["is_default"]) == (False, False)
    assert selectors.channel_default_get(tenant_id=a.tenant.id, provider="beem") is None
    assert_field_errors(api(a.owner).put(url(second), {"is_default": True}, "json"), "is_default")
    assert_field_errors(api(a.owner).put(url(second), {"name": " "}, "json"), "name")
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)
    assert_foreign_404(api(b.owner), second)


@committed
def test_concurrent_defaults_leave_one(committed_tenant, settings):
    with FakeBeem(api_key=BEEM_KEY, secret_key=BEEM_SECRET) as fake:
        settings.BEEM_BALANCE_URL = fake.balance_url
        tenant = committed_tenant.tenant

        made = at_once(lambda n: beem_channel(tenant, name=f"Beem {n}").pk, 8)

    assert len(set(made)) == 8
    assert Channel.objects.filter(tenant=tenant, provider="beem", is_default=True).count() == 1
    assert sandbox_of(tenant).is_default  # the sandbox's default is another provider's


# --- Deleting


def test_deleting_the_default_soft_deletes_it_and_frees_its_addresses(api, a, b, twilio):
    channel = twilio_channel(a.tenant, addresses=["+255712000555"])
    assert_foreign_404(api(b.owner), channel)

    response = api(a.owner).delete(url(channel))

    assert ok_data(response) is None
    assert "platform's account" in response.json()["message"]
    assert_error(api(a.owner).get(url(channel)), 404, "NOT_FOUND")
    assert_lists_only_its_sandbox(api(a.owner), a.tenant)
    kept = Channel.objects.get(pk=channel.pk)
    assert kept.deleted_at is not None
    assert (kept.is_active, kept.is_default, kept.credentials, kept.credentials_hint) == (
        False,
        False,
        "",
        {},
    )
    assert selectors.channel_default_get(tenant_id=a.tenant.id, provider="twilio") is None
    # The number is free again, for anyone.
    assert twilio_channel(b.tenant, addresses=["+255712000555"]).addresses.count() == 1
    assert_error(api(a.owner).delete(url(channel)), 404, "NOT_FOUND")


def test_a_platform_channel_cannot_be_deleted_nor_its_numbers_changed(api, a, b):
    channels.channel_address_assign(tenant=a.tenant, provider="twilio", address="+15005550100")
    (platform,) = Channel.objects.filter(tenant=a.tenant, provider="twilio")

    assert_error(api(a.owner).delete(url(platform)), 409, "CONFLICT")
    changed = api(a.owner).put(url(platform), {"addresses": ["+15005550101"]}, "json")
    assert_error(changed, 409, "CONFLICT")
    assert_error(
        api(a.owner).put(url(platform), {"credentials": {"x": "y"}}, "json"), 409, "CONFLICT"
    )
    renamed = ok_data(api(a.owner).put(url(platform), {"name": "Our US number"}, "json"))
    assert renamed["name"] == "Our US number"
    assert renamed["addresses"] == [{"address": "+15005550100", "kind": "number"}]
    assert renamed["credentials"] == {}
    assert_foreign_404(api(b.owner), platform)
    # Nor the sandbox channel every tenant has.
    assert_error(api(a.owner).delete(url(sandbox_of(a.tenant))), 409, "CONFLICT")
    assert sandbox_of(a.tenant).addresses.count() == 1


# --- Testing


def test_testing_a_channel_checks_its_account_and_sends_nothing(api, a, b, beem):
    channel = beem_channel(a.tenant)
    Channel.objects.filter(pk=channel.pk).update(verified_at=None)

    response = api(a.owner).post(f"{url(channel)}test/")

    data = ok_data(response)
    assert (data["channel_id"], data["provider"], data["ok"]) == (str(channel.pk), "beem", True)
    assert "1000 credits" in data["detail"]
    channel.refresh_from_db()
    assert channel.verified_at is not None
    assert sent_nothing(beem)
    # Once the provider refuses them (rotated at Beem), the test says so.
    beem.secret_key = "changed-at-beem"
    refused = api(a.owner).post(f"{url(channel)}test/")
    assert_error(refused, 400, "CHANNEL_CREDENTIALS_INVALID")
    assert not any(secret in refused.content.decode() for secret in SECRETS)
    assert_foreign_404(api(b.owner), channel)


def test_testing_a_platform_channel_uses_the_platforms_account(api, a, b, settings, twilio):
    channels.channel_address_assign(tenant=a.tenant, provider="twilio", address="+15005550100")
    platform = Channel.objects.get(tenant=a.tenant, provider="twilio")
    settings.TWILIO_ACCOUNT_SID, settings.TWILIO_AUTH_TOKEN = TWILIO_SID, TWILIO_TOKEN

    assert ok_data(api(a.owner).post(f"{url(platform)}test/"))["ok"] is True

    settings.TWILIO_AUTH_TOKEN = ""
    assert_error(api(a.owner).post(f"{url(platform)}test/"), 502, "SMS_PROVIDER_UNAVAILABLE")
    assert_foreign_404(api(b.owner), platform)


def test_credentials_no_key_opens_are_a_409_asking_for_them_again(api, a, b, beem, settings):
    channel = beem_channel(a.tenant)
    settings.CREDENTIALS_ENCRYPTION_KEY = "A" * 43 + "="  # another key

    response = api(a.owner).post(f"{url(channel)}test/")

    assert "enter them again" in assert_error(response, 409, "CONFLICT")["message"]
    # New credentials replace them whole.
    data = ok_data(
        api(a.owner).put(url(channel), {"credentials": beem_body()["credentials"]}, "json")
    )
    assert data["credentials"]["secret_key"] == "****e4a6"
    assert_foreign_404(api(b.owner), channel)


# --- The address index, platform numbers and the sandbox


def test_the_index_finds_an_inbound_addresss_tenant_and_channel(a, b, twilio):
    channel = twilio_channel(a.tenant, addresses=["+255712000666", "15301"])

    for spelling in ("+255712000666", "255712000666", "0712000666"):
        route = selectors.channel_address_route(provider="twilio", address=spelling)
        assert (route.tenant_id, route.channel_id) == (a.tenant.id, channel.pk)
    assert selectors.channel_address_route(provider="twilio", address="15301").channel == channel
    assert selectors.channel_address_route(provider="beem", address="+255712000666") is None
    assert selectors.channel_address_route(provider="twilio", address="+255712000667") is None
    assert selectors.channel_address_route(provider="twilio", address="") is None


def assign(*args) -> str:
    out = io.StringIO()
    call_command("assign_number", *args, stdout=out)
    return out.getvalue()


def test_assign_number_attaches_a_platform_number_to_one_tenant(api, a, b):
    out = assign("--tenant", "tenant-a", "--provider", "twilio", "--number", "+15005550100")

    assert "+15005550100 (twilio) now reaches" in out
    (platform,) = listed(api(a.agent), provider="twilio")
    assert [c["id"] for c in listed(api(a.agent))] == [
        str(sandbox_of(a.tenant).pk),
        platform["id"],
    ]
    assert (platform["provider"], platform["is_platform"], platform["is_default"]) == (
        "twilio",
        True,
        True,
    )
    assert platform["addresses"] == [{"address": "+15005550100", "kind": "number"}]
    route = selectors.channel_address_route(provider="twilio", address="+15005550100")
    assert route.tenant_id == a.tenant.id
    assert_lists_only_its_sandbox(api(b.owner), b.tenant)
    # Again for the same tenant: nothing changes; for another: refused.
    assign("--tenant", "tenant-a", "--provider", "twilio", "--number", "+15005550100")
    assert ChannelAddress.objects.filter(address="+15005550100").count() == 1
    with pytest.raises(CommandError, match="another account"):
        assign("--tenant", "tenant-b", "--provider", "twilio", "--number", "+15005550100")
    # A second number joins the same platform channel.
    assign("--tenant", "tenant-a", "--provider", "twilio", "--number", "+15005550101")
    assert Channel.objects.filter(tenant=a.tenant, provider="twilio", is_platform=True).count() == 1
    assert len(listed(api(a.agent), provider="twilio")[0]["addresses"]) == 2


def test_assign_number_releases_and_explains_what_is_wrong(a, twilio):
    assign("--tenant", "tenant-a", "--provider", "twilio", "--number", "+15005550100")

    out = assign(
        "--tenant", "tenant-a", "--provider", "twilio", "--number", "+15005550100", "--release"
    )

    assert "released" in out
    assert selectors.channel_address_route(provider="twilio", address="+15005550100") is None
    for args, message in [
        (("--tenant", "nobody", "--number", "+15005550100"), "No tenant"),
        (("--tenant", "tenant-a", "--number", "+12"), "not a phone number"),
        (("--tenant", "tenant-a", "--number", "+15005550100", "--release"), "has no twilio"),
    ]:
        with pytest.raises(CommandError, match=message):
            assign(*args, "--provider", "twilio")
    # A tenant's own account's number is the tenant's to remove.
    twilio_channel(a.tenant, addresses=["+15005550199"])
    with pytest.raises(CommandError, match="own twilio account"):
        assign(
            "--tenant", "tenant-a", "--provider", "twilio", "--number", "+15005550199", "--release"
        )


def test_each_tenant_has_a_sandbox_number_of_its_own(api, a, b):
    mine, theirs = sandbox_of(a.tenant), sandbox_of(b.tenant)  # made with the tenants

    (a_number,) = mine.addresses.values_list("address", flat=True)
    (b_number,) = theirs.addresses.values_list("address", flat=True)
    assert a_number != b_number
    assert SANDBOX_NUMBER.match(a_number) and a_number.startswith("+2557")
    assert SANDBOX_NUMBER.match(b_number)
    # Ensuring it again (demo_setup does) gives the same channel and number.
    again = channels.channel_sandbox_ensure(tenant=a.tenant)
    assert again.pk == mine.pk
    assert list(again.addresses.values_list("address", flat=True)) == [a_number]
    (shown,) = listed(api(a.agent))
    assert (shown["provider"], shown["is_platform"], shown["is_default"]) == (
        "sandbox",
        True,
        True,
    )
    assert shown["addresses"] == [{"address": a_number, "kind": "number"}]
    assert selectors.channel_address_route(provider="sandbox", address=a_number).tenant_id == (
        a.tenant.id
    )
    assert b_number not in str(listed(api(a.owner)))


def test_a_tenant_created_in_development_gets_a_sandbox_number_of_its_own(a, b, on_commit):
    with on_commit():
        tenant = tenant_create(owner=UserFactory(), name="Fresh", subdomain="fresh-sandbox")

    channel = sandbox_of(tenant)
    assert (channel.name, channel.is_default, channel.is_active) == ("Sandbox", True, True)
    (number,) = channel.addresses.values_list("address", flat=True)
    assert SANDBOX_NUMBER.match(number)
    assert number not in {sandbox_of(x.tenant).addresses.get().address for x in (a, b)}
    route = selectors.channel_address_route(provider="sandbox", address=number)
    assert (route.tenant_id, route.channel_id) == (tenant.id, channel.pk)


def test_a_tenant_created_with_a_live_provider_gets_no_sandbox_channel(db, settings, on_commit):
    settings.SMS_PROVIDER = "beem"

    with on_commit() as callbacks:
        tenant = tenant_create(owner=UserFactory(), name="Live", subdomain="live-beem")

    # The subscriber did hear of the tenant (mifumo.events delivers partial(_, subscriber, event)).
    heard = {c.args[0] for c in callbacks if isinstance(c, functools.partial)}
    assert channels.tenant_created_received in heard
    assert not Channel.objects.filter(tenant=tenant).exists()
    assert not ChannelAddress.objects.filter(tenant=tenant).exists()


def test_a_sandbox_number_an_operator_took_by_hand_is_skipped(b, on_commit):
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value + 1 FROM sms_sandbox_number_seq")
        (upcoming,) = cursor.fetchone()
    taken = f"+255{channels.SANDBOX_NATIONAL_BASE + upcoming}"
    channels.channel_address_assign(tenant=b.tenant, provider="sandbox", address=taken)

    with on_commit():
        tenant = tenant_create(owner=UserFactory(), name="Next", subdomain="next-sandbox")

    (number,) = sandbox_of(tenant).addresses.values_list("address", flat=True)
    assert number != taken
    assert number == f"+255{channels.SANDBOX_NATIONAL_BASE + upcoming + 1}"  # the next one
    assert SANDBOX_NUMBER.match(number)


@committed
def test_concurrent_sandbox_ensures_make_one_channel_and_one_number(committed_tenant):
    tenant = committed_tenant.tenant
    sandbox_of(tenant).delete()  # made with the tenant; the race is over making it

    made = at_once(lambda n: channels.channel_sandbox_ensure(tenant=tenant).pk, 8)

    assert len(set(made)) == 1
    assert Channel.objects.filter(tenant=tenant).count() == 1
    assert ChannelAddress.objects.filter(tenant=tenant).count() == 1


def test_demo_setup_gives_the_demo_tenant_its_sandbox_channel(db):
    for _ in range(2):
        call_command("demo_setup", "--subdomain", "demo-channels", stdout=io.StringIO())

    tenant = Tenant.objects.get(subdomain="demo-channels")
    (channel,) = Channel.objects.filter(tenant=tenant)
    assert (channel.provider, channel.is_platform) == ("sandbox", True)
    assert SANDBOX_NUMBER.match(channel.addresses.get().address)


# --- The admin


@pytest.fixture
def staff(client, a, b):
    root = User.objects.create_superuser(email="root@example.com", password="Root-Pass-123")
    client.force_login(root)
    client.root = root
    return client


def test_the_admin_shows_channels_with_masked_credentials_only(staff, a, beem):
    channel = beem_channel(a.tenant, addresses=["Acme"])

    pages = [
        staff.get("/admin/sms/channel/"),
        staff.get(f"/admin/sms/channel/{channel.pk}/change/"),
        staff.get("/admin/sms/channeladdress/"),
        staff.get(f"/admin/sms/channeladdress/{channel.addresses.get().pk}/change/"),
    ]

    assert [page.status_code for page in pages] == [200, 200, 200, 200]
    for page in pages:
        html = page.content.decode()
        assert not any(secret in html for secret in SECRETS)
        assert channel.credentials not in html
    assert "****e4a6" in pages[1].content.decode()
    assert staff.get("/admin/sms/channel/add/").status_code == 403


def test_an_operator_assigns_and_releases_a_platform_number_in_the_admin(staff, a, b):
    add = "/admin/sms/channeladdress/add/"
    assert staff.get(add).status_code == 200

    response = staff.post(
        add, {"tenant": str(a.tenant.pk), "provider": "twilio", "address": "+15005550100"}
    )

    assert response.status_code == 302, response.content
    address = ChannelAddress.objects.get(address="+15005550100")
    assert (address.tenant_id, address.channel.is_platform, address.assigned_by_id) == (
        a.tenant.id,
        True,
        staff.root.id,
    )
    taken = staff.post(
        add, {"tenant": str(b.tenant.pk), "provider": "twilio", "address": "+15005550100"}
    )
    assert taken.status_code == 200
    assert "another account" in taken.content.decode()
    assert ChannelAddress.objects.filter(address="+15005550100").count() == 1

    deleted = staff.post(f"/admin/sms/channeladdress/{address.pk}/delete/", {"post": "yes"})
    assert deleted.status_code == 302
    assert not ChannelAddress.objects.filter(address="+15005550100").exists()


def test_the_admin_leaves_a_tenants_own_addresses_to_the_tenant(staff, a, twilio):
    channel = twilio_channel(a.tenant, addresses=["+15005550199"])
    address = channel.addresses.get()

    assert staff.get(f"/admin/sms/channeladdress/{address.pk}/delete/").status_code == 403
    staff.post(
        "/admin/sms/channeladdress/",
        {"action": "release_selected", "_selected_action": [str(address.pk)]},
    )
    assert ChannelAddress.objects.filter(pk=address.pk).exists()


def test_the_admin_tests_selected_channels(staff, a, beem):
    channel = beem_channel(a.tenant)
    Channel.objects.filter(pk=channel.pk).update(verified_at=None)

    response = staff.post(
        "/admin/sms/channel/",
        {"action": "test_selected", "_selected_action": [str(channel.pk)]},
        follow=True,
    )

    assert "Accepted" in response.content.decode()
    channel.refresh_from_db()
    assert channel.verified_at is not None


# --- Secrets stay secret


def test_no_log_line_carries_a_credential(api, a, beem, twilio, caplog):
    caplog.set_level(logging.DEBUG)
    client = api(a.owner)

    made = ok_data(client.post(CHANNELS, beem_body(), "json"), 201)
    ok_data(client.post(CHANNELS, twilio_body(), "json"), 201)
    client.post(f"{url(made['id'])}test/")
    client.post(
        CHANNELS, beem_body(credentials={"api_key": BEEM_KEY, "secret_key": "x-wrong-1"}), "json"
    )
    beem.secret_key = "changed-at-beem"
    client.post(f"{url(made['id'])}test/")

    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "account check failed" in logged  # the failures were logged, without the values
    assert not any(secret in logged for secret in (*SECRETS, "x-wrong-1"))


# --- Providers on a tenant's account


def test_providers_built_from_credentials_use_them_not_the_platforms(settings, beem, twilio):
    settings.BEEM_API_KEY, settings.BEEM_SECRET_KEY = "platform-key", "platform-secret"
    settings.TWILIO_MESSAGING_SERVICE_SID = "MG0000000000000000000000000000000"

    own_beem = provider_for_account("beem", {"api_key": BEEM_KEY, "secret_key": BEEM_SECRET})
    own_twilio = provider_for_account(
        "twilio", {"account_sid": TWILIO_SID, "auth_token": TWILIO_TOKEN}
    )

    assert isinstance(own_beem, BeemProvider) and own_beem.test_connection().ok
    assert isinstance(own_twilio, TwilioProvider) and own_twilio.test_connection().ok
    assert own_twilio.messaging_service_sid == ""  # the platform's service is not its own
    assert not BeemProvider().test_connection().ok  # the platform's (wrong) keys, unchanged
    assert TwilioProvider().account_sid == settings.TWILIO_ACCOUNT_SID


# --- The key


def _start(**env) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter with `env` over ours."""
    environment = {**os.environ, "SECRET_KEY": "s" * 50, **env}
    return subprocess.run(
        [sys.executable, "-c", "import mifumo.settings"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        cwd=django_settings.BASE_DIR,
    )


def test_a_production_start_without_the_key_refuses():
    refused = _start(DEBUG="false", CREDENTIALS_ENCRYPTION_KEY="")
    assert refused.returncode != 0
    assert "CREDENTIALS_ENCRYPTION_KEY must be set" in refused.stderr

    malformed = _start(DEBUG="false", CREDENTIALS_ENCRYPTION_KEY="not-a-fernet-key")
    assert malformed.returncode != 0
    assert "not 32 bytes" in malformed.stderr

    assert _start(DEBUG="true", CREDENTIALS_ENCRYPTION_KEY="").returncode == 0


def test_make_generates_a_fernet_key(tmp_path):
    from cryptography.fernet import Fernet

    env = tmp_path / ".env"
    script = django_settings.BASE_DIR / "scripts" / "env_secrets.py"
    subprocess.run([sys.executable, str(script), str(env)], check=True, capture_output=True)

    (line,) = [
        x for x in env.read_text().splitlines() if x.startswith("CREDENTIALS_ENCRYPTION_KEY=")
    ]
    key = line.partition("=")[2]
    assert Fernet(key.encode()).decrypt(Fernet(key.encode()).encrypt(b"ok")) == b"ok"
