"""Operators find and act on everything in the admin: API keys (search by prefix, revoke),
webhook endpoints, deliveries and attempts (retry one), status events, callback routes, and
every tenant-schema model through the tenant picker, which scopes those pages to one schema
for the request only."""

from datetime import timedelta
from types import SimpleNamespace
from unittest import mock

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, tenant_context

from accounts.models import User
from integration.models import ApiKey, WebhookAttempt, WebhookDelivery, WebhookEndpoint
from integration.services import keys as key_services
from integration.services import webhooks as webhook_services
from messaging.models import (
    Campaign,
    CampaignRun,
    Contact,
    ContactImport,
    Message,
    Segment,
    SendRequest,
    Template,
)
from messaging.services import campaigns as campaign_services
from mifumo.errors import ApplicationError
from sms.models import CallbackRoute
from tenants.admin_scope import SESSION_KEY
from tests.fakes.server import CallbackSink
from tests.integration.helpers import key_for
from tests.messaging.helpers import new_phone
from webhooks.models import StatusEvent

PICKER = "/admin/tenants/tenant/scope/"
PUBLIC = get_public_schema_name()


@pytest.fixture
def operator(client, db):
    root = User.objects.create_superuser(email="operator@example.com", password="Root-Pass-123")
    client.force_login(root)
    return client


def pick(client, tenant):
    response = client.post(PICKER, {"tenant": str(tenant.pk), "next": ""})
    assert response["Location"] == "/admin/messaging/", response.content
    return response


def tenant_rows(tenant, marker: str) -> SimpleNamespace:
    """One row of every tenant-schema model in `tenant`'s schema, each named with `marker`."""
    now = timezone.now()
    with tenant_context(tenant):
        contact = Contact.objects.create(name=f"{marker} contact", phone_e164=new_phone())
        job = ContactImport.objects.create(
            file=f"contact-imports/{marker}.csv", file_format="csv", failure=f"{marker} import"
        )
        segment = Segment.objects.create(name=f"{marker} segment")
        template = Template.objects.create(name=f"{marker} template", content="Hello")
        send = SendRequest.objects.create(
            text="Habari",
            sender_id=f"{marker}SMS"[:11],
            encoding="GSM-7",
            segments=1,
            recipient_count=1,
            credits=1,
        )
        message = Message.objects.create(
            send_request=send,
            contact=contact,
            status=Message.Status.SENT,
            recipient=contact.phone_e164,
            sender=f"{marker}SMS"[:11],
            text="Habari",
            encoding="GSM-7",
            segments=1,
            credits=1,
            provider="sandbox",
            provider_message_id=f"{marker}-provider-id",
        )
        campaign = Campaign.objects.create(name=f"{marker} campaign", message_text="Habari")
        run = CampaignRun.objects.create(
            campaign=campaign,
            scheduled_for=now,
            started_at=now,
            status=CampaignRun.Status.FAILED,
            failure_reason=f"{marker} run",
        )
    return SimpleNamespace(
        contact=contact,
        contactimport=job,
        segment=segment,
        template=template,
        sendrequest=send,
        message=message,
        campaign=campaign,
        campaignrun=run,
    )


# What each tenant model's changelist is searched by, and the text its row shows.
TENANT_MODELS = {
    "contact": ("{m} contact", "{m} contact"),
    "contactimport": ("{m} import", "{id}"),
    "segment": ("{m} segment", "{m} segment"),
    "template": ("{m} template", "{m} template"),
    "sendrequest": ("{m}SMS", "{id}"),
    "message": ("{m}-provider-id", "{m}SMS"),
    "campaign": ("{m} campaign", "{m} campaign"),
    "campaignrun": ("{m} run", "{m} run"),
}


@pytest.fixture
def worlds(a, b):
    return tenant_rows(a.tenant, "Alpha"), tenant_rows(b.tenant, "Bravo")


# --- The tenant picker


@pytest.mark.parametrize("model", TENANT_MODELS)
def test_without_a_picked_tenant_the_page_says_so_and_links_to_the_picker(operator, model):
    response = operator.get(f"/admin/messaging/{model}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "No tenant is picked yet" in body
    assert f'href="{PICKER}?next=%2Fadmin%2Fmessaging%2F{model}%2F"' in body
    assert connection.schema_name == PUBLIC


def test_a_change_page_without_a_picked_tenant_goes_to_the_picker(operator, worlds):
    alpha, _ = worlds
    url = f"/admin/messaging/contact/{alpha.contact.pk}/change/"

    response = operator.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith(f"{PICKER}?next=")


@pytest.mark.parametrize("model", TENANT_MODELS)
def test_the_picked_tenants_rows_show_and_the_other_tenants_do_not(operator, a, b, worlds, model):
    alpha, bravo = worlds
    search, shown = TENANT_MODELS[model]

    for tenant, mine, theirs in [(a.tenant, alpha, bravo), (b.tenant, bravo, alpha)]:
        pick(operator, tenant)
        own_marker, other_marker = ("Alpha", "Bravo") if mine is alpha else ("Bravo", "Alpha")
        listed = operator.get(f"/admin/messaging/{model}/")
        searched = operator.get(f"/admin/messaging/{model}/", {"q": search.format(m=own_marker)})
        mine_row, their_row = getattr(mine, model), getattr(theirs, model)

        for response in (listed, searched):
            assert response.status_code == 200
            body = response.content.decode()
            assert shown.format(m=own_marker, id=mine_row.pk) in body
            assert shown.format(m=other_marker, id=their_row.pk) not in body
            assert f"schema <code>{tenant.schema_name}</code>" in body  # the picked tenant
        change = operator.get(f"/admin/messaging/{model}/{mine_row.pk}/change/")
        assert change.status_code == 200
        assert tenant.name in change.content.decode()
        # The other tenant's id is not in this schema: the admin says it does not exist.
        foreign = operator.get(f"/admin/messaging/{model}/{their_row.pk}/change/")
        assert foreign.status_code == 302
        assert foreign["Location"] == "/admin/"
        assert connection.schema_name == PUBLIC  # nothing leaks out of the request


def test_tenant_model_filters_apply_in_the_picked_schema(operator, a, worlds):
    pick(operator, a.tenant)
    url = "/admin/messaging/message/"

    sent = operator.get(url, {"provider": "sandbox", "status__exact": "sent"})
    delivered = operator.get(url, {"provider": "sandbox", "status__exact": "delivered"})
    campaigns = operator.get("/admin/messaging/campaign/", {"status__exact": "draft"})

    assert "AlphaSMS" in sent.content.decode()
    assert "AlphaSMS" not in delivered.content.decode()
    assert "Alpha campaign" in campaigns.content.decode()


def test_the_picker_remembers_the_choice_and_forgets_it(operator, a):
    assert "No tenant is picked" in operator.get(PICKER).content.decode()

    response = operator.post(PICKER, {"tenant": str(a.tenant.pk), "next": "https://evil.test/"})

    assert response["Location"] == "/admin/messaging/"  # never off-site
    assert operator.session[SESSION_KEY] == str(a.tenant.pk)
    assert f"schema <code>{a.tenant.schema_name}</code>" in operator.get(PICKER).content.decode()
    back = operator.post(PICKER, {"tenant": str(a.tenant.pk), "next": "/admin/messaging/contact/"})
    assert back["Location"] == "/admin/messaging/contact/"

    operator.post(PICKER, {"clear": "1"})

    assert SESSION_KEY not in operator.session
    assert operator.post(PICKER, {"tenant": "not-a-tenant"}).status_code == 200  # form errors


def test_the_tenant_list_action_picks_a_tenant(operator, a, b):
    response = operator.post(
        "/admin/tenants/tenant/",
        {"action": "pick_for_tenant_pages", "_selected_action": [str(b.tenant.pk)]},
    )

    assert response.status_code == 302
    assert operator.session[SESSION_KEY] == str(b.tenant.pk)


def test_the_picker_is_for_staff_only(client, a):
    response = client.get(PICKER)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_a_history_page_runs_in_the_picked_schema(operator, a, worlds):
    alpha, _ = worlds
    pick(operator, a.tenant)

    response = operator.get(f"/admin/messaging/campaign/{alpha.campaign.pk}/history/")

    assert response.status_code == 200
    assert f"schema <code>{a.tenant.schema_name}</code>" in response.content.decode()
    assert connection.schema_name == PUBLIC


@pytest.mark.usefixtures("worlds")
def test_staff_see_what_their_permissions_allow_in_the_picked_schema(client, a):
    from django.contrib.auth.models import Permission

    viewer = User.objects.create_user(
        email="viewer@example.com", password="Root-Pass-123", is_staff=True, is_active=True
    )
    viewer.user_permissions.add(
        Permission.objects.get(content_type__app_label="messaging", codename="view_contact"),
        Permission.objects.get(content_type__app_label="tenants", codename="view_tenant"),
    )
    client.force_login(viewer)
    pick(client, a.tenant)

    contacts = client.get("/admin/messaging/contact/")
    campaigns = client.get("/admin/messaging/campaign/")

    assert contacts.status_code == 200
    assert "Alpha contact" in contacts.content.decode()
    assert 'name="action"' not in contacts.content.decode()  # no change permission, no actions
    assert campaigns.status_code == 403


def test_statuses_and_counters_are_read_only(operator, a, worlds):
    alpha, _ = worlds
    pick(operator, a.tenant)

    for model in ("message", "campaign", "sendrequest"):
        row = getattr(alpha, model)
        url = f"/admin/messaging/{model}/{row.pk}/change/"
        page = operator.get(url).content.decode()
        assert 'name="status"' not in page
        assert 'name="credits"' not in page
        assert operator.post(url, {"status": "delivered"}).status_code == 403
    assert operator.get("/admin/messaging/contact/add/").status_code == 403
    with tenant_context(a.tenant):
        assert Message.objects.get(pk=alpha.message.pk).status == Message.Status.SENT


def test_campaign_and_contact_actions_go_through_the_services(operator, a, b, worlds):
    alpha, bravo = worlds
    pick(operator, a.tenant)

    with mock.patch.object(
        campaign_services, "campaign_cancel", wraps=campaign_services.campaign_cancel
    ) as cancel:
        operator.post(
            "/admin/messaging/campaign/",
            {"action": "cancel_selected", "_selected_action": [str(alpha.campaign.pk)]},
        )
    operator.post(
        "/admin/messaging/contact/",
        {"action": "opt_out_selected", "_selected_action": [str(alpha.contact.pk)]},
    )

    assert cancel.call_args.kwargs["tenant"] == a.tenant
    with tenant_context(a.tenant):
        campaign = Campaign.objects.get(pk=alpha.campaign.pk)
        assert campaign.status == Campaign.Status.CANCELLED
        assert campaign.completed_at is not None
        contact = Contact.objects.get(pk=alpha.contact.pk)
        assert (contact.is_opted_in, contact.opt_out_reason) == (
            False,
            "Opted out by a Mifumo operator",
        )
    with tenant_context(b.tenant):
        assert Campaign.objects.get(pk=bravo.campaign.pk).status == Campaign.Status.DRAFT
    refused = operator.post(
        "/admin/messaging/campaign/",
        {"action": "pause_selected", "_selected_action": [str(alpha.campaign.pk)]},
        follow=True,
    )
    assert "A cancelled campaign cannot pause." in refused.content.decode()


# --- Public-schema models


@pytest.fixture
def public_rows(a, b):
    """An API key, endpoint, failed delivery with one attempt, status event and callback route
    of each tenant."""
    rows = {}
    for world, marker in [(a, "alpha"), (b, "bravo")]:
        issued = key_for(world)
        endpoint = WebhookEndpoint.objects.create(
            tenant=world.tenant,
            url=f"https://hooks.example.com/{marker}",
            events=["message.sent"],
            secret=f"whsec_{marker}-secret",
        )
        delivery = WebhookDelivery.objects.create(
            tenant=world.tenant,
            endpoint=endpoint,
            url=endpoint.url,
            event_id=f"msg_{marker}",
            event_type="message.sent",
            payload={"id": f"msg_{marker}"},
            state=WebhookDelivery.State.FAILED,
            attempts=1,
            finished_at=timezone.now(),
        )
        attempt = WebhookAttempt.objects.create(
            delivery=delivery, status_code=503, error=f"{marker} answered 503"
        )
        event = StatusEvent.objects.create(
            provider="beem",
            event_id=f"{marker}-event",
            schema_name=world.tenant.schema_name,
            status="delivered",
            provider_message_id=f"{marker}-pmid",
        )
        route = CallbackRoute.objects.create(
            provider="beem",
            provider_message_id=f"{marker}-route",
            schema_name=world.tenant.schema_name,
        )
        rows[marker] = SimpleNamespace(
            issued=issued,
            apikey=issued.api_key,
            webhookendpoint=endpoint,
            webhookdelivery=delivery,
            webhookattempt=attempt,
            statusevent=event,
            callbackroute=route,
        )
    return rows


PUBLIC_MODELS = [
    ("integration/apikey", "apikey", "tenant-a", "Tenant A"),
    ("integration/webhookendpoint", "webhookendpoint", "alpha", "hooks.example.com/alpha"),
    ("integration/webhookdelivery", "webhookdelivery", "msg_alpha", "hooks.example.com/alpha"),
    ("integration/webhookattempt", "webhookattempt", "alpha answered", "alpha answered 503"),
    ("webhooks/statusevent", "statusevent", "alpha-pmid", "alpha-pmid"),
    ("sms/callbackroute", "callbackroute", "alpha-route", "alpha-route"),
]


@pytest.mark.parametrize(("path", "attr", "query", "shown"), PUBLIC_MODELS)
def test_public_models_list_search_and_open(operator, public_rows, path, attr, query, shown):
    row = getattr(public_rows["alpha"], attr)

    listed = operator.get(f"/admin/{path}/")
    searched = operator.get(f"/admin/{path}/", {"q": query})
    change = operator.get(f"/admin/{path}/{row.pk}/change/")

    for response in (listed, searched, change):
        assert response.status_code == 200
    assert shown in searched.content.decode()
    assert shown.replace("alpha", "bravo").replace("Tenant A", "Tenant B") not in (
        searched.content.decode()
    )


@pytest.mark.parametrize(
    ("path", "filters", "shown"),
    [
        (
            "webhooks/statusevent",
            {"provider": "beem", "status": "delivered", "state__exact": "pending"},
            "alpha-pmid",
        ),
        ("sms/callbackroute", {"provider": "beem"}, "alpha-route"),
        ("integration/webhookdelivery", {"state__exact": "failed"}, "msg_alpha"),
        ("integration/apikey", {"status__exact": "active"}, "Tenant A"),
        ("integration/webhookendpoint", {"is_active__exact": "1"}, "/alpha"),
    ],
)
def test_public_model_filters_apply(operator, public_rows, path, filters, shown):
    response = operator.get(f"/admin/{path}/", filters)
    emptied = operator.get(f"/admin/{path}/", {**filters, "q": "no-such-row"})

    assert response.status_code == 200
    assert shown in response.content.decode()
    assert shown not in emptied.content.decode()


def test_secrets_never_show(operator, public_rows):
    alpha = public_rows["alpha"]

    key_page = operator.get(f"/admin/integration/apikey/{alpha.apikey.pk}/change/").content
    endpoint_page = operator.get(
        f"/admin/integration/webhookendpoint/{alpha.webhookendpoint.pk}/change/"
    ).content

    assert alpha.apikey.key_hash.encode() not in key_page
    assert alpha.apikey.secret_hash.encode() not in key_page
    assert b"whsec_alpha-secret" not in endpoint_page


@pytest.mark.parametrize("form", ["prefix", "masked", "whole key"])
def test_an_api_key_is_found_by_its_prefix(operator, public_rows, form):
    alpha, bravo = public_rows["alpha"], public_rows["bravo"]
    term = {
        "prefix": alpha.apikey.key_prefix[:9],
        "masked": alpha.apikey.masked_key,
        "whole key": alpha.issued.key,
    }[form]

    body = operator.get("/admin/integration/apikey/", {"q": term}).content.decode()

    assert alpha.apikey.key_prefix in body
    assert bravo.apikey.key_prefix not in body


def test_revoking_keys_goes_through_the_service(operator, public_rows):
    alpha, bravo = public_rows["alpha"], public_rows["bravo"]

    with mock.patch.object(
        key_services, "api_key_revoke", wraps=key_services.api_key_revoke
    ) as revoke:
        response = operator.post(
            "/admin/integration/apikey/",
            {"action": "revoke_selected", "_selected_action": [str(alpha.apikey.pk)]},
            follow=True,
        )

    assert response.status_code == 200
    assert "Revoked: Test key" in response.content.decode()
    assert [c.kwargs["api_key"].pk for c in revoke.call_args_list] == [alpha.apikey.pk]
    alpha.apikey.refresh_from_db()
    assert alpha.apikey.status == ApiKey.Status.REVOKED
    assert alpha.apikey.revoked_at is not None
    assert ApiKey.objects.get(pk=bravo.apikey.pk).status == ApiKey.Status.ACTIVE
    assert operator.get(f"/admin/integration/apikey/{alpha.apikey.pk}/delete/").status_code == 403


@pytest.fixture
def receiver(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_DELAYS = [0.0]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    with CallbackSink() as sink:
        yield sink


def test_retrying_a_failed_delivery_sends_it_again_through_the_service(
    operator, public_rows, receiver, django_capture_on_commit_callbacks
):
    alpha, bravo = public_rows["alpha"], public_rows["bravo"]
    endpoint = alpha.webhookendpoint
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        url=f"{receiver.url}/hook", total_deliveries=1, failed_deliveries=1
    )
    WebhookDelivery.objects.filter(pk=alpha.webhookdelivery.pk).update(url=f"{receiver.url}/hook")

    with (
        mock.patch.object(
            webhook_services,
            "webhook_delivery_retry",
            wraps=webhook_services.webhook_delivery_retry,
        ) as retry,
        django_capture_on_commit_callbacks(execute=True),
    ):
        response = operator.post(
            "/admin/integration/webhookdelivery/",
            {"action": "retry_selected", "_selected_action": [str(alpha.webhookdelivery.pk)]},
            follow=True,
        )

    assert response.status_code == 200
    assert "Retrying:" in response.content.decode()
    assert retry.call_count == 1
    assert [request.path for request in receiver.requests] == ["/hook"]
    delivery = WebhookDelivery.objects.get(pk=alpha.webhookdelivery.pk)
    assert (delivery.state, delivery.attempts) == (WebhookDelivery.State.SUCCEEDED, 2)
    assert [a.status_code for a in delivery.attempt_log.all()] == [200, 503]
    endpoint.refresh_from_db()
    assert (endpoint.total_deliveries, endpoint.failed_deliveries) == (1, 0)
    untouched = WebhookDelivery.objects.get(pk=bravo.webhookdelivery.pk)
    assert (untouched.state, untouched.attempts) == (WebhookDelivery.State.FAILED, 1)
    page = operator.get(f"/admin/integration/webhookdelivery/{delivery.pk}/change/")
    assert "503" in page.content.decode()  # its attempts, inline


def test_a_delivery_that_cannot_be_retried_is_reported_and_left_alone(operator, public_rows):
    alpha = public_rows["alpha"]
    WebhookDelivery.objects.filter(pk=alpha.webhookdelivery.pk).update(
        state=WebhookDelivery.State.SUCCEEDED
    )

    response = operator.post(
        "/admin/integration/webhookdelivery/",
        {"action": "retry_selected", "_selected_action": [str(alpha.webhookdelivery.pk)]},
        follow=True,
    )

    assert "Only a failed or canceled delivery is retried" in response.content.decode()
    delivery = WebhookDelivery.objects.get(pk=alpha.webhookdelivery.pk)
    assert (delivery.state, delivery.attempts) == (WebhookDelivery.State.SUCCEEDED, 1)


def test_the_retry_service_refuses_pending_deliveries_and_endpoints_that_are_off(public_rows):
    alpha = public_rows["alpha"]
    delivery = alpha.webhookdelivery
    WebhookDelivery.objects.filter(pk=delivery.pk).update(
        state=WebhookDelivery.State.PENDING, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    with pytest.raises(ApplicationError) as pending:
        webhook_services.webhook_delivery_retry(delivery=delivery)
    webhook_services.webhook_endpoint_toggle(endpoint=alpha.webhookendpoint, is_active=False)
    with pytest.raises(ApplicationError) as endpoint_off:
        webhook_services.webhook_delivery_retry(delivery=delivery)

    assert pending.value.status_code == 409
    assert pending.value.details["current_state"] == "pending"
    assert endpoint_off.value.status_code == 409
    assert "turned off" in endpoint_off.value.message


def test_endpoints_are_turned_off_and_deleted_through_the_service(operator, public_rows):
    alpha, bravo = public_rows["alpha"], public_rows["bravo"]
    url = "/admin/integration/webhookendpoint/"
    selected = [str(alpha.webhookendpoint.pk)]

    operator.post(url, {"action": "turn_off_selected", "_selected_action": selected})
    endpoint = WebhookEndpoint.objects.get(pk=alpha.webhookendpoint.pk)
    assert (endpoint.is_active, endpoint.disabled_reason) == (False, "Turned off by a user.")

    operator.post(url, {"action": "delete_selected_endpoints", "_selected_action": selected})

    assert not WebhookEndpoint.objects.filter(pk=alpha.webhookendpoint.pk).exists()
    assert not WebhookDelivery.objects.filter(pk=alpha.webhookdelivery.pk).exists()
    assert WebhookEndpoint.objects.filter(pk=bravo.webhookendpoint.pk, is_active=True).exists()


# --- The admin's frame


def test_view_site_leads_to_the_api_explorer(operator, client):
    index = operator.get("/admin/").content.decode()

    assert 'href="/swagger/"' in index
    assert client.get("/swagger/").status_code == 200


def test_the_index_and_the_sidebar_list_every_model(operator):
    body = operator.get("/admin/").content.decode()
    messaging = operator.get("/admin/messaging/").content.decode()
    sidebar = operator.get("/admin/sms/callbackroute/").content.decode()

    assert "Not available" not in body + messaging + sidebar
    assert f'href="{PICKER}"' in messaging

    for path in [
        "integration/apikey",
        "integration/webhookendpoint",
        "integration/webhookdelivery",
        "integration/webhookattempt",
        "webhooks/statusevent",
        "sms/callbackroute",
        *(f"messaging/{model}" for model in TENANT_MODELS),
    ]:
        assert f'href="/admin/{path}/"' in body, path
        assert f'href="/admin/{path}/"' in sidebar, path
