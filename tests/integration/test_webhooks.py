"""Outbound webhooks against real local receivers: Standard Webhooks signatures, retries until
the receiver recovers, 410 Gone, SSRF refusals (at creation and at send time), no redirects,
message events fanned out to subscribed targets only, and the settings API's webhook routes."""

import base64
import datetime as dt
import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context
from standardwebhooks.webhooks import Webhook

from integration.models import WebhookDelivery, WebhookEndpoint
from integration.services import webhooks as services
from integration.services.webhooks import deliveries, endpoints
from messaging.models import Message, SendRequest
from mifumo import events, outbound_http
from mifumo.outbound_http import TargetRefused, check_target, post_json
from tests.envelope import assert_error, assert_field_errors, ok_data
from tests.fakes.server import Answer, CallbackSink, FakeRequest
from tests.messaging.helpers import message_fields

CREATE = "/api/auth/webhooks/create/"
PUBLIC_URL = "https://hooks.example.com/mifumo"


def webhook_url(endpoint_id, action: str) -> str:
    return f"/api/auth/webhooks/{endpoint_id}/{action}/"


class Receiver(CallbackSink):
    """Answers 200, unless told to fail the next requests (fail_next(n, status=...))."""

    def handle(self, request: FakeRequest) -> Answer:
        return self.send_fault() or super().handle(request)


class RedirectingReceiver:
    """Answers every POST with 302 to `location`, counting the requests it gets."""

    def __init__(self, location: str):
        self.location = location
        self.hits = 0

    def __enter__(self):
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                receiver.hits += 1
                self.send_response(302)
                self.send_header("Location", receiver.location)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                """Quiet."""

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        return self

    def __exit__(self, *exc_info):
        self.server.shutdown()
        self.server.server_close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"


@pytest.fixture
def local_targets(settings):
    """Receivers on 127.0.0.1 are allowed; retries follow at once, twice at most."""
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = True
    settings.WEBHOOK_RETRY_DELAYS = [0.0, 0.0]
    settings.WEBHOOK_TIMEOUT_SECONDS = 2.0
    return settings


@pytest.fixture
def no_private_targets(settings):
    settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False
    return settings


@pytest.fixture
def receiver():
    with Receiver() as fake:
        yield fake


def endpoint_for(world, url: str, events=("message.sent",)) -> WebhookEndpoint:
    return services.webhook_endpoint_create(
        tenant=world.tenant, url=url, events=list(events), created_by=world.owner
    )


def message_in(tenant, *, webhook_url: str = "", status: str = "sent") -> Message:
    with tenant_context(tenant):
        send = SendRequest.objects.create(
            text="Habari",
            sender_id="Taarifa-SMS",
            encoding="GSM-7",
            segments=1,
            recipient_count=1,
            credits=1,
            webhook_url=webhook_url,
        )
        return Message.objects.create(
            **message_fields(
                send_request=send,
                status=status,
                text="Habari",
                provider="sandbox",
                sent_at=timezone.now(),
            )
        )


def emit(world, on_commit, messages, event_type="message.sent") -> None:
    """What the send pipeline does after a status change, then its side effects run."""
    with on_commit(), tenant_context(world.tenant):
        events.publish(event_type, {"message_ids": [str(m.id) for m in messages]})


def headers_of(request: FakeRequest) -> dict[str, str]:
    return dict(request.headers.items())


def verified(request: FakeRequest, secret: str) -> dict:
    return Webhook(secret).verify(request.body, headers_of(request))


# --- Deliveries


def test_an_event_reaches_subscribed_endpoints_and_the_sends_url_signed(
    a, b, on_commit, local_targets, receiver
):
    subscribed = endpoint_for(a, f"{receiver.url}/subscribed")
    endpoint_for(a, f"{receiver.url}/other-events", events=["message.delivered"])
    endpoint_for(b, f"{receiver.url}/other-tenant")
    message = message_in(a.tenant, webhook_url=f"{receiver.url}/send-hook")

    emit(a, on_commit, [message])

    by_path = {request.path: request for request in receiver.requests}
    assert set(by_path) == {"/subscribed", "/send-hook"}
    event = verified(by_path["/subscribed"], subscribed.secret)
    same_event = verified(by_path["/send-hook"], services.webhook_url_secret(tenant_id=a.tenant.pk))
    assert same_event == event
    assert event["id"].startswith("msg_")
    assert event["type"] == "message.sent"
    assert event["data"] == {
        "message_id": str(message.send_request_id),
        "recipient_message_id": str(message.id),
        "recipient": message.recipient,
        "status": "sent",
        "error_code": None,
        "error_message": None,
        "sender_id": "Taarifa-SMS",
        "segments": 1,
        "provider": "sandbox",
        "occurred_at": message.sent_at.isoformat().replace("+00:00", "Z"),
    }
    headers = headers_of(by_path["/subscribed"])
    assert headers["webhook-id"] == event["id"]
    assert headers["Content-Type"] == "application/json"
    assert headers["User-Agent"].startswith("Mifumo-Webhooks/")
    with pytest.raises(Exception, match="signature"):
        Webhook(endpoints._new_secret()).verify(by_path["/subscribed"].body, headers)

    deliveries = WebhookDelivery.objects.filter(tenant=a.tenant)
    assert sorted(d.url for d in deliveries) == sorted(
        [f"{receiver.url}/subscribed", f"{receiver.url}/send-hook"]
    )
    assert {(d.state, d.attempts) for d in deliveries} == {("succeeded", 1)}
    subscribed.refresh_from_db()
    assert (subscribed.total_deliveries, subscribed.failed_deliveries) == (1, 0)
    assert subscribed.last_delivery_at is not None
    assert not WebhookDelivery.objects.filter(tenant=b.tenant).exists()


def test_emitting_is_free_and_a_tenant_without_targets_costs_two_queries(
    a, django_capture_on_commit_callbacks
):
    message = message_in(a.tenant)
    with tenant_context(a.tenant):
        Message.objects.exists()  # the schema is chosen before counting
        with (
            django_capture_on_commit_callbacks() as published,
            CaptureQueriesContext(connection) as emitted,
        ):
            events.publish("message.sent", {"message_ids": [str(message.id)]})
        with CaptureQueriesContext(connection) as delivered:
            (publish,) = published
            publish()  # the task, run eagerly

    assert len(emitted) == 0
    assert len(delivered) == 2
    assert not WebhookDelivery.objects.exists()


def test_a_receiver_that_fails_then_recovers_gets_every_event(
    a, on_commit, local_targets, receiver
):
    endpoint = endpoint_for(a, receiver.url)
    messages = [message_in(a.tenant) for _ in range(3)]
    receiver.fail_next(2, status=500)

    emit(a, on_commit, messages)

    assert len(receiver.requests) == 5
    events = [verified(request, endpoint.secret) for request in receiver.requests]
    assert {e["data"]["recipient_message_id"] for e in events} == {str(m.id) for m in messages}
    deliveries = list(WebhookDelivery.objects.filter(endpoint=endpoint))
    assert {d.state for d in deliveries} == {"succeeded"}
    assert sorted(d.attempts for d in deliveries) == [1, 2, 2]
    retried = next(d for d in deliveries if d.attempts == 2)
    log = list(retried.attempt_log.order_by("id"))
    assert [attempt.status_code for attempt in log] == [500, 200]
    assert log[0].error == "HTTP 500" and log[1].error == ""
    ids = [r.headers["webhook-id"] for r in receiver.requests if r.json()["id"] == retried.event_id]
    assert ids == [retried.event_id, retried.event_id]  # the same id on every retry
    endpoint.refresh_from_db()
    assert (endpoint.total_deliveries, endpoint.failed_deliveries) == (3, 0)
    assert endpoint.last_error == "HTTP 500"


def test_a_delivery_fails_when_its_retries_are_used_up(a, on_commit, local_targets, receiver):
    endpoint = endpoint_for(a, receiver.url)
    receiver.fail_next(5, status=503)

    emit(a, on_commit, [message_in(a.tenant)])

    (delivery,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert (delivery.state, delivery.attempts) == ("failed", 3)
    assert delivery.finished_at is not None and delivery.next_attempt_at is None
    assert delivery.attempt_log.count() == 3
    endpoint.refresh_from_db()
    assert (endpoint.total_deliveries, endpoint.failed_deliveries) == (1, 1)
    assert endpoint.is_active


def test_410_gone_disables_the_endpoint_and_cancels_what_it_had_pending(
    a, on_commit, local_targets, receiver
):
    endpoint = endpoint_for(a, receiver.url)
    receiver.fail_next(1, status=410)

    emit(a, on_commit, [message_in(a.tenant), message_in(a.tenant)])

    assert len(receiver.requests) == 1
    endpoint.refresh_from_db()
    assert endpoint.is_active is False
    assert "410" in endpoint.disabled_reason
    states = sorted(
        WebhookDelivery.objects.filter(endpoint=endpoint).values_list("state", flat=True)
    )
    assert states == ["canceled", "failed"]

    emit(a, on_commit, [message_in(a.tenant)])

    assert len(receiver.requests) == 1
    assert WebhookDelivery.objects.filter(endpoint=endpoint).count() == 2


def test_a_redirect_is_a_failure_and_is_not_followed(a, on_commit, local_targets, receiver):
    local_targets.WEBHOOK_RETRY_DELAYS = []
    with RedirectingReceiver(f"{receiver.url}/elsewhere") as redirecting:
        endpoint = endpoint_for(a, redirecting.url)

        emit(a, on_commit, [message_in(a.tenant)])

    assert redirecting.hits == 1
    assert receiver.requests == []
    (delivery,) = WebhookDelivery.objects.filter(endpoint=endpoint)
    assert delivery.state == "failed"
    (attempt,) = delivery.attempt_log.all()
    assert attempt.status_code == 302
    assert "redirect" in attempt.error


def test_private_targets_are_refused_at_send_time_too(a, on_commit, local_targets, receiver):
    endpoint = endpoint_for(a, receiver.url)  # allowed when it was made
    metadata = "http://169.254.169.254/latest/meta-data/"
    local_targets.WEBHOOKS_ALLOW_PRIVATE_TARGETS = False

    emit(a, on_commit, [message_in(a.tenant, webhook_url=metadata)])

    assert receiver.requests == []
    deliveries = WebhookDelivery.objects.filter(tenant=a.tenant)
    assert {d.url for d in deliveries} == {receiver.url, metadata}
    assert {(d.state, d.attempts) for d in deliveries} == {("failed", 3)}
    for delivery in deliveries:
        assert {a.error.split(":")[0] for a in delivery.attempt_log.all()} == {"Refused"}
        assert {a.status_code for a in delivery.attempt_log.all()} == {None}
    endpoint.refresh_from_db()
    assert endpoint.last_error.startswith("Refused: 127.0.0.1 is a loopback, private")


def test_a_delivery_being_attempted_is_not_sent_again(a, local_targets, receiver):
    endpoint = endpoint_for(a, receiver.url)
    delivery = WebhookDelivery.objects.create(
        tenant=a.tenant,
        endpoint=endpoint,
        url=receiver.url,
        event_id=services.new_event_id(),
        event_type="message.sent",
        payload={"id": "msg_x"},
        next_attempt_at=timezone.now(),
    )

    # As another worker's claim leaves it: attempts counted, due only after the attempt.
    claimed = deliveries._claim(delivery.pk)
    again = services.webhook_delivery_attempt(delivery_id=delivery.pk)

    assert claimed is not None
    assert again is None
    assert receiver.requests == []
    delivery.refresh_from_db()
    assert delivery.attempts == 1


def test_beat_starts_long_waits_and_lost_tasks_only(a, on_commit, local_targets, receiver):
    local_targets.WEBHOOK_RETRY_DELAYS = [0.0, 600.0]
    endpoint = endpoint_for(a, receiver.url)
    now = timezone.now()

    def pending(attempts: int, due: dt.datetime) -> WebhookDelivery:
        return WebhookDelivery.objects.create(
            tenant=a.tenant,
            endpoint=endpoint,
            url=receiver.url,
            event_id=services.new_event_id(),
            event_type="message.sent",
            payload={"attempts": attempts},
            attempts=attempts,
            next_attempt_at=due,
        )

    long_wait_due = pending(2, now - dt.timedelta(seconds=1))
    long_wait_later = pending(2, now + dt.timedelta(minutes=5))
    countdown_on_its_way = pending(0, now - dt.timedelta(seconds=1))
    countdown_lost = pending(1, now - dt.timedelta(minutes=10))

    with on_commit():
        started = services.webhook_deliveries_due_send()

    assert started == 2
    assert sorted(r.json()["attempts"] for r in receiver.requests) == [1, 2]
    states = {
        d.pk: d.state
        for d in WebhookDelivery.objects.filter(
            pk__in=[
                long_wait_due.pk,
                long_wait_later.pk,
                countdown_on_its_way.pk,
                countdown_lost.pk,
            ]
        )
    }
    assert states == {
        long_wait_due.pk: "succeeded",
        long_wait_later.pk: "pending",
        countdown_on_its_way.pk: "pending",
        countdown_lost.pk: "succeeded",
    }


# --- The SSRF-safe client


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.1/hook",
        "http://172.16.5.4/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://localhost:8000/hook",
        "http://0.0.0.0/",
        "http://2130706433/",
        "http://[::1]/hook",
        "http://[fd00::1]/hook",
        "http://[fe80::1]/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://224.0.0.1/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_private_and_metadata_targets_are_refused(no_private_targets, url):
    with pytest.raises(TargetRefused):
        check_target(url)


@pytest.mark.parametrize("url", ["ftp://example.com/hook", "file:///etc/passwd", "not a url", ""])
def test_only_http_urls_are_accepted(no_private_targets, url):
    with pytest.raises(TargetRefused, match="http"):
        check_target(url)


def fake_dns(monkeypatch, answers: dict[str, list[list[str]]]):
    """getaddrinfo answering each host with its next list of addresses (the last repeats)."""
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host not in answers:
            return real(host, port, *args, **kwargs)
        queue = answers[host]
        addresses = queue.pop(0) if len(queue) > 1 else queue[0]
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port)) for ip in addresses]

    monkeypatch.setattr(outbound_http.socket, "getaddrinfo", getaddrinfo)


def test_a_host_with_any_private_address_is_refused(no_private_targets, monkeypatch):
    fake_dns(monkeypatch, {"mixed.example.test": [["93.184.215.14", "10.1.2.3"]]})

    with pytest.raises(TargetRefused, match=r"10\.1\.2\.3"):
        check_target("https://mixed.example.test/hook")
    response = post_json("https://mixed.example.test/hook", b"{}", {})
    assert response.status_code is None
    assert response.error.startswith("Refused:")


def test_the_checked_address_is_the_one_connected_to(local_targets, receiver, monkeypatch):
    """A second DNS answer (rebinding) is never asked for: the connection goes to the address
    that was checked, and the Host header keeps the URL's name."""
    port = receiver.url.rsplit(":", 1)[1]
    fake_dns(monkeypatch, {"hooks.example.test": [["127.0.0.1"], ["10.255.255.1"]]})

    response = post_json(f"http://hooks.example.test:{port}/in", b'{"ok":true}', {"X-A": "1"})

    assert response.ok, response
    (request,) = receiver.requests
    assert request.headers["Host"] == f"hooks.example.test:{port}"
    assert request.headers["X-A"] == "1"
    assert request.body == b'{"ok":true}'


def test_a_dead_receiver_is_an_error_not_an_exception(local_targets):
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]

    response = post_json(f"http://127.0.0.1:{port}/", b"{}", {})

    assert response.status_code is None
    assert response.error.startswith("Connection failed")


# --- The settings API


def test_an_owner_creates_an_endpoint_and_sees_its_secret_once(api, a, no_private_targets):
    data = ok_data(
        api(a.owner).post(
            CREATE,
            {"url": PUBLIC_URL, "events": ["message.delivered", "message.sent"]},
            format="json",
        ),
        201,
    )

    assert data["url"] == PUBLIC_URL
    assert data["events"] == ["message.sent", "message.delivered"]
    assert data["is_active"] is True
    assert data["total_deliveries"] == 0 and data["failed_deliveries"] == 0
    assert data["secret"].startswith("whsec_")
    assert len(base64.b64decode(data["secret"].removeprefix("whsec_"))) >= 24
    endpoint = WebhookEndpoint.objects.get(pk=data["id"])
    assert endpoint.tenant == a.tenant and endpoint.created_by == a.owner
    assert endpoint.secret == data["secret"]

    toggled = ok_data(api(a.owner).post(webhook_url(endpoint.pk, "toggle")))
    assert "secret" not in toggled
    assert endpoint.secret not in json.dumps(toggled)


def test_an_admin_may_create_an_agent_may_not(api, a, no_private_targets):
    body = {"url": PUBLIC_URL, "events": ["message.failed"], "is_active": False}

    data = ok_data(api(a.admin).post(CREATE, body, format="json"), 201)
    assert data["is_active"] is False
    assert_error(api(a.agent).post(CREATE, body, format="json"), 403, "PERMISSION_DENIED")
    assert WebhookEndpoint.objects.filter(tenant=a.tenant).count() == 1


def test_a_create_retried_with_its_idempotency_key_is_replayed(api, a, no_private_targets):
    client = api(a.owner, HTTP_IDEMPOTENCY_KEY="hook-1")
    body = {"url": PUBLIC_URL, "events": ["message.sent"]}

    first = client.post(CREATE, body, format="json")
    second = client.post(CREATE, body, format="json")

    assert ok_data(second, 201)["id"] == ok_data(first, 201)["id"]
    assert second["Idempotent-Replayed"] == "true"
    assert WebhookEndpoint.objects.filter(tenant=a.tenant).count() == 1


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"url": PUBLIC_URL, "events": []}, "events"),
        ({"url": PUBLIC_URL, "events": ["message.sent", "message.bogus"]}, "events"),
        ({"url": PUBLIC_URL}, "events"),
        ({"events": ["message.sent"]}, "url"),
        ({"url": "ftp://example.com/hook", "events": ["message.sent"]}, "url"),
        ({"url": "http://127.0.0.1:9000/hook", "events": ["message.sent"]}, "url"),
        ({"url": "http://10.0.0.1/hook", "events": ["message.sent"]}, "url"),
        ({"url": "http://169.254.169.254/latest/meta-data/", "events": ["message.sent"]}, "url"),
        ({"url": "http://localhost/hook", "events": ["message.sent"]}, "url"),
    ],
)
def test_bad_urls_and_events_are_400s(api, a, no_private_targets, body, field):
    response = api(a.owner).post(CREATE, body, format="json")

    assert_field_errors(response, field)
    assert not WebhookEndpoint.objects.filter(tenant=a.tenant).exists()


def test_a_refused_url_says_why(api, a, no_private_targets):
    body = {"url": "http://localhost:8000/hook", "events": ["message.sent"]}

    errors = assert_field_errors(api(a.owner).post(CREATE, body, format="json"), "url")["errors"]

    assert errors["url"] == [
        "localhost resolves to 127.0.0.1, a loopback, private, link-local or reserved address; "
        "only public addresses can be called."
    ]


def test_toggle_turns_off_and_on_and_off_cancels_pending_deliveries(api, a, no_private_targets):
    endpoint = endpoint_for(a, PUBLIC_URL)
    pending = WebhookDelivery.objects.create(
        tenant=a.tenant,
        endpoint=endpoint,
        url=endpoint.url,
        event_id=services.new_event_id(),
        event_type="message.sent",
        payload={},
        next_attempt_at=timezone.now() + dt.timedelta(hours=1),
    )

    off = ok_data(api(a.owner).post(webhook_url(endpoint.pk, "toggle")))
    assert off["is_active"] is False and off["disabled_reason"]
    pending.refresh_from_db()
    assert pending.state == "canceled"

    on = ok_data(api(a.admin).post(webhook_url(endpoint.pk, "toggle")))
    assert on["is_active"] is True and on["disabled_reason"] == ""
    still_on = api(a.owner).post(webhook_url(endpoint.pk, "toggle"), {"is_active": True})
    assert ok_data(still_on)["is_active"] is True

    response = api(a.agent).post(webhook_url(endpoint.pk, "toggle"))
    assert_error(response, 403, "PERMISSION_DENIED")


def test_delete_removes_the_endpoint_with_its_deliveries(api, a, no_private_targets):
    endpoint = endpoint_for(a, PUBLIC_URL)
    WebhookDelivery.objects.create(
        tenant=a.tenant,
        endpoint=endpoint,
        url=endpoint.url,
        event_id=services.new_event_id(),
        event_type="message.sent",
        payload={},
    )

    assert_error(api(a.agent).delete(webhook_url(endpoint.pk, "delete")), 403, "PERMISSION_DENIED")
    response = api(a.owner).delete(webhook_url(endpoint.pk, "delete"))

    assert ok_data(response) is None
    assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()
    assert not WebhookDelivery.objects.filter(tenant=a.tenant).exists()
    assert_error(api(a.owner).delete(webhook_url(endpoint.pk, "delete")), 404, "NOT_FOUND")


def test_deliveries_list_newest_first_with_every_attempt(
    api, a, on_commit, local_targets, receiver
):
    endpoint = endpoint_for(a, receiver.url)
    receiver.fail_next(1, status=500)
    emit(a, on_commit, [message_in(a.tenant)])
    emit(a, on_commit, [message_in(a.tenant)], event_type="message.sent")

    page = ok_data(api(a.agent).get(webhook_url(endpoint.pk, "deliveries")))

    assert page["count"] == 2
    newest, oldest = page["results"]
    assert newest["created_at"] >= oldest["created_at"]
    assert oldest["event_id"].startswith("msg_") and oldest["event_type"] == "message.sent"
    assert (oldest["state"], oldest["attempts"]) == ("succeeded", 2)
    assert [a["status_code"] for a in oldest["attempt_log"]] == [200, 500]  # newest first
    assert oldest["attempt_log"][1]["error"] == "HTTP 500"
    assert {"attempted_at", "duration_ms"} <= set(oldest["attempt_log"][0])
    assert (newest["state"], newest["attempts"], len(newest["attempt_log"])) == ("succeeded", 1, 1)


def test_deliveries_cost_the_same_queries_for_more_rows(api, a, on_commit, local_targets, receiver):
    endpoint = endpoint_for(a, receiver.url)
    url = webhook_url(endpoint.pk, "deliveries")
    emit(a, on_commit, [message_in(a.tenant)])
    client = api(a.owner)
    with CaptureQueriesContext(connection) as one:
        ok_data(client.get(url))
    emit(a, on_commit, [message_in(a.tenant) for _ in range(3)])
    with CaptureQueriesContext(connection) as four:
        assert ok_data(client.get(url))["count"] == 4

    assert len(four) == len(one)


@pytest.mark.parametrize(
    ("method", "action"),
    [("post", "toggle"), ("delete", "delete"), ("get", "deliveries")],
)
def test_another_tenants_endpoint_is_a_404(api, a, b, no_private_targets, method, action):
    foreign = endpoint_for(b, PUBLIC_URL)

    response = getattr(api(a.owner), method)(webhook_url(foreign.pk, action))

    assert_error(response, 404, "NOT_FOUND")
    foreign.refresh_from_db()
    assert foreign.is_active is True
