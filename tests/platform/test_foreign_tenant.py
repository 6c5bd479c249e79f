"""Every route with an id, called by a member of another tenant with a real id of the first,
answers 404 with none of the first tenant's data and leaves the object as it was (DESIGN
section 2).

The routes come from the URL resolver, so a new route is covered by construction: an id
parameter this module cannot fill fails the suite until `_objects_of` makes one. Tenant A owns
the objects; tenant B's owner calls with a JWT, with B's API key on the integration API and
signed in on the developer pages. The same call by A's owner proves that each id is real.
"""

import json
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import models, transaction
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.converters import IntConverter, UUIDConverter
from django_tenants.utils import schema_context, tenant_context

from accounts.models import User
from billing.models import Invoice
from billing.payment_methods import payment_method_add
from billing.payments.services import Buyer, payment_confirm, payment_initiate
from integration.services.keys import SCOPES, api_key_create
from integration.services.webhooks import webhook_endpoint_create
from messaging.models import (
    Campaign,
    Contact,
    ContactImport,
    Conversation,
    Message,
    Segment,
    SendRequest,
    Template,
)
from sms.channels import channel_sandbox_ensure, channel_update
from sms.services import sender_id_request
from tenants.models import Tenant
from tests.conftest import client_for
from tests.integration.helpers import key_client
from tests.messaging.helpers import message_fields, new_phone

METHODS = ("get", "post", "put", "patch", "delete")
INTEGRATION_API = "api/integration/v1/"
DEVELOPER_PAGES = "api/integration/dashboard/"
# What a write would set if it reached the object; none of it may land.
HIJACK = {"name": "Hijacked", "content": "Hijacked", "message_text": "Hijacked", "is_active": False}


@dataclass(frozen=True)
class Route:
    path: str  # as Django prints it: api/messaging/contacts/<uuid:contact_id>/
    ids: tuple[str, ...]
    view: Callable[..., Any]

    @property
    def view_class(self) -> type | None:
        return getattr(self.view, "view_class", None) or getattr(self.view, "cls", None)

    @property
    def methods(self) -> tuple[str, ...]:
        """What its view class implements; every method for a function view, which may 405."""
        if self.view_class is None:
            return METHODS
        allowed = self.view_class.http_method_names
        return tuple(m for m in METHODS if m in allowed and hasattr(self.view_class, m))

    def url(self, values: dict[str, str]) -> str:
        assert "(?P<" not in self.path, f"{self.path}: a regex route; build its URL here"
        return "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda part: values[part[1]], self.path)


def _names_an_id(name: str, converter: object) -> bool:
    return (
        isinstance(converter, UUIDConverter | IntConverter)
        or name in ("id", "pk")
        or name.endswith(("_id", "_pk"))
    )


def _routes(resolver: URLResolver, prefix: str = "") -> Iterator[Route]:
    for entry in resolver.url_patterns:
        path = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, path)
            continue
        assert isinstance(entry, URLPattern)
        converters = getattr(entry.pattern, "converters", {})
        names = [*converters, *entry.pattern.regex.groupindex]
        ids = tuple(dict.fromkeys(n for n in names if _names_an_id(n, converters.get(n))))
        if ids and path.startswith("api/"):
            yield Route(path=path, ids=ids, view=entry.callback)


ROUTES = sorted(_routes(get_resolver()), key=lambda route: route.path)


@dataclass(frozen=True)
class Record:
    """One of tenant A's objects, and text that only A's data contains."""

    instance: models.Model
    in_tenant_schema: bool
    secrets: tuple[str, ...]
    url_value: str = ""  # what the route takes when it is not the primary key

    @property
    def in_url(self) -> str:
        return self.url_value or str(self.instance.pk)

    def snapshot(self, a_tenant: Tenant, b_tenant: Tenant) -> tuple[Any, ...]:
        """Its row, and how many rows of its model each tenant has."""
        model = type(self.instance)
        if not self.in_tenant_schema:
            return list(model.objects.filter(pk=self.instance.pk).values()), model.objects.count()
        with tenant_context(a_tenant):
            row = list(model.objects.filter(pk=self.instance.pk).values())
            count_a = model.objects.count()
        with tenant_context(b_tenant):
            count_b = model.objects.count()
        return row, count_a, count_b


def _message(text: str) -> Message:
    send = SendRequest.objects.create(
        text=text,
        sender_id="Taarifa-SMS",
        encoding="GSM-7",
        segments=1,
        recipient_count=1,
        credits=1,
    )
    return Message.objects.create(
        **message_fields(
            send_request=send,
            status=Message.Status.SENT,
            text=text,
            provider="sandbox",
            provider_message_id=f"{text}-provider",
        )
    )


def _objects_of(tenant: Tenant, owner: User) -> dict[str, Record]:
    """One object of `tenant` for each id parameter a route has, each holding text of its own."""
    with tenant_context(tenant):
        in_schema = {
            "contact_id": Contact.objects.create(name="a-contact-secret", phone_e164=new_phone()),
            "segment_id": Segment.objects.create(name="a-segment-secret"),
            "template_id": Template.objects.create(
                name="a-template-secret", content="a-template-secret"
            ),
            "import_id": ContactImport.objects.create(
                file="contact-imports/a.csv", file_format="csv", failure="a-import-secret"
            ),
            "message_id": _message("a-message-secret"),
            "campaign_id": Campaign.objects.create(
                name="a-campaign-secret", message_text="a-campaign-secret"
            ),
        }
        in_schema["conversation_id"] = Conversation.objects.create(
            contact=in_schema["contact_id"], subject="a-conversation-secret"
        )
    issued = api_key_create(tenant=tenant, name="a-key-secret", permissions=[], created_by=owner)
    endpoint = webhook_endpoint_create(
        tenant=tenant,
        url="https://hooks.example.com/a-endpoint-secret",
        events=["message.sent"],
        created_by=owner,
    )
    sender = sender_id_request(tenant=tenant, name="SecretOfA", created_by=owner)
    payment = payment_initiate(
        tenant=tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="a-payment-secret", email=owner.email, phone="+255712345678"),
        credits=10,
    )
    paid = payment_initiate(
        tenant=tenant,
        payment_method="mobile_money",
        buyer=Buyer(name="a-invoice-secret", email=owner.email, phone="+255712345678"),
        credits=10,
    )
    payment_confirm(transaction_id=paid.pk, paid_amount=paid.amount, paid_currency=paid.currency)
    invoice = Invoice.objects.get(payment=paid)
    saved = payment_method_add(
        tenant=tenant, network="vodacom", phone_number=new_phone(), label="a-method-secret"
    )
    channel = channel_update(channel=channel_sandbox_ensure(tenant=tenant), name="a-channel-secret")
    return {
        **{
            name: Record(instance, True, (f"a-{name.removesuffix('_id')}-secret",))
            for name, instance in in_schema.items()
        },
        "key_id": Record(issued.api_key, False, ("a-key-secret", issued.api_key.key_prefix)),
        "endpoint_id": Record(endpoint, False, ("a-endpoint-secret", endpoint.secret)),
        "sender_id_pk": Record(sender, False, ("SecretOfA",)),
        "transaction_id": Record(payment, False, ("a-payment-secret", payment.order_id)),
        "order_id": Record(payment, False, ("a-payment-secret",), url_value=payment.order_id),
        "invoice_id": Record(invoice, False, ("a-invoice-secret", invoice.number)),
        "payment_method_id": Record(saved, False, ("a-method-secret", saved.phone_number)),
        "channel_id": Record(channel, False, ("a-channel-secret", channel.addresses.get().address)),
        "tenant_id": Record(tenant, False, (tenant.name, tenant.schema_name, owner.email)),
    }


@pytest.fixture(scope="module")
def first(django_db_setup, django_db_blocker) -> Iterator[dict[str, Record]]:
    """Tenant A's objects by id parameter, made in a transaction that the module's tests nest
    in and that is rolled back after them. Its tests also take `db`: pytest-django runs tests
    without it last, after those that flush the session's tenants away."""
    with django_db_blocker.unblock(), transaction.atomic(), schema_context("public"):
        tenant = Tenant.objects.get(subdomain="tenant-a")
        yield _objects_of(tenant, User.objects.get(email="owner-a@example.com"))
        transaction.set_rollback(True)


@pytest.fixture
def client_of(db):
    """client_of(world, route) -> a client of `world`'s owner, signed in as `route` expects:
    an API key with every scope on the integration API, a session on the developer pages,
    a JWT everywhere else."""

    def client(world, route: Route):
        if route.path.startswith(INTEGRATION_API):
            issued = api_key_create(
                tenant=world.tenant, name="Caller", permissions=list(SCOPES), created_by=world.owner
            )
            return key_client(issued.key)
        if route.path.startswith(DEVELOPER_PAGES):
            signed_in = client_for()
            signed_in.force_login(world.owner)
            return signed_in
        return client_for(world.owner)

    return client


def _call(client, method: str, url: str):
    if method in ("get", "delete"):
        return getattr(client, method)(url)
    return getattr(client, method)(url, HIJACK, format="json")


def test_the_suite_can_fill_every_id_a_route_has(first, db):
    unknown = sorted(
        {f"<{name}> in {r.path}" for r in ROUTES for name in r.ids if name not in first}
    )

    assert ROUTES, "the resolver lists no route with an id"
    assert unknown == [], "make a tenant-A object for these in _objects_of"


@pytest.mark.parametrize("route", ROUTES, ids=[route.path for route in ROUTES])
def test_another_tenants_id_is_a_404_without_its_data(first, a, b, client_of, route):
    if missing := [name for name in route.ids if name not in first]:
        pytest.fail(f"{route.path}: no tenant-A object for {missing}; add one to _objects_of")
    records = [first[name] for name in route.ids]
    url = route.url({name: first[name].in_url for name in route.ids})
    secrets = {secret for record in records for secret in record.secrets}
    secrets |= {a.tenant.name, a.tenant.schema_name, a.owner.email}
    before = [record.snapshot(a.tenant, b.tenant) for record in records]
    stranger = client_of(b, route)

    answered = []
    for method in route.methods:
        response = _call(stranger, method, url)
        if response.status_code == 405 and route.view_class is None:
            continue  # a function view tells its methods only by answering
        answered.append(method)
        body = response.content.decode()
        assert response.status_code == 404, (method, url, body)
        assert [secret for secret in secrets if secret in body] == [], (method, url, body)
        if response.get("Content-Type", "").startswith("application/json"):
            assert json.loads(body)["data"] is None, (method, url, body)
        assert [record.snapshot(a.tenant, b.tenant) for record in records] == before, (method, url)

    assert answered, f"{route.path} answered no method"
    own = _call(client_of(a, route), answered[0], url)
    assert own.status_code not in (404, 405), ("the id is real for its owner", url, own.content)
