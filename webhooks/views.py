"""Provider callbacks. Each verifies the caller, stores the reports (or the inbound message)
and answers at once; applying them is a task's job (webhooks.services, webhooks.inbound)."""

import functools
import hmac
import json
import logging

from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from billing.payments.providers import get_payment_provider
from billing.payments.providers.stripe import SIGNATURE_HEADER, StripeProvider
from billing.payments.providers.zenopay import API_KEY_HEADER
from mifumo.errors import ApplicationError, ErrorCode, error_body, field_error
from mifumo.input_limits import json_loads_bounded
from sms.providers import get_provider
from sms.selectors import twilio_status_callback_account
from webhooks.inbound import sandbox_inbound_deliver, sandbox_inbound_enabled, twilio_inbound_accept
from webhooks.services import payment_callback_store, status_events_store, stripe_event_store

logger = logging.getLogger(__name__)


@functools.lru_cache(maxsize=64)
def _ok_body(count: int, what: str) -> bytes:
    body = {
        "success": True,
        "message": f"{count} {what}(s) received.",
        "data": {"received": count},
        "error_code": None,
        "details": None,
    }
    return json.dumps(body).encode()


def _ok(count: int, what: str = "report") -> HttpResponse:
    # The same few bodies thousands of times a second: rendered once each.
    return HttpResponse(_ok_body(count, what), content_type="application/json")


def _error(message: str, code: ErrorCode, status: int) -> JsonResponse:
    return JsonResponse(error_body(message, code), status=status)


def _application_error(exc: ApplicationError) -> JsonResponse:
    body = error_body(exc.message, exc.code, details=exc.details, errors=exc.errors)
    return JsonResponse(body, status=exc.status_code)


def _public_urls(request) -> list[str]:
    """The URLs a provider may have signed a request to: ours as we gave it out
    (PUBLIC_BASE_URL and the path) and, when a proxy in front ended TLS (X-Forwarded-Proto:
    https) while PUBLIC_BASE_URL says http, the same over https. Only the signature decides."""
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    forwarded = request.headers.get("X-Forwarded-Proto", "").split(",")[0].strip().lower()
    if url.startswith("http://") and (forwarded == "https" or request.is_secure()):
        return [url, "https://" + url.removeprefix("http://")]
    return [url]


@csrf_exempt
@require_POST
def beem_delivery_report(request, token: str):
    """Beem does not sign its callbacks: the secret token in the URL is the check."""
    expected = settings.BEEM_DLR_TOKEN
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        return _error("Not found.", ErrorCode.NOT_FOUND, 404)
    try:
        body = request.body.decode()
        payload = json_loads_bounded(body or "null")  # stored as jsonb: no NUL, bounded depth
    except ValueError:
        return _error("The body is not JSON.", ErrorCode.MALFORMED_REQUEST, 400)
    except ApplicationError as exc:
        return _error(exc.message, exc.code, 400)
    if not isinstance(payload, dict | list):
        return _error("Expected a JSON object or list.", ErrorCode.MALFORMED_REQUEST, 400)
    reports = get_provider("beem").status_reports(payload)
    status_events_store(provider="beem", reports=reports, payload=body)
    return _ok(len(reports))


@csrf_exempt
@require_POST
def twilio_status(request):
    """Twilio signs each callback (X-Twilio-Signature) over the URL we gave it, which names
    the tenant's schema, and the tenant's own channel when the message went through it: the
    signature is checked with that account's auth token, else the platform's."""
    params = request.POST.dict()
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    schema = request.GET.get("schema", "")
    account = twilio_status_callback_account(
        schema_name=schema, channel_id=request.GET.get("channel", "")
    )
    if account is None or not account.verify_callback(url=url, params=params, signature=signature):
        return _error("Invalid Twilio signature.", ErrorCode.PERMISSION_DENIED, 403)
    reports = account.status_reports(params)
    status_events_store(
        provider="twilio", reports=reports, payload=json.dumps(params), schema_name=schema
    )
    return _ok(len(reports))


# Empty TwiML: Twilio sends nothing back to the customer.
TWIML_EMPTY = b'<?xml version="1.0" encoding="UTF-8"?><Response/>'


@csrf_exempt
@require_POST
def twilio_inbound(request):
    """A customer's SMS to one of our Twilio numbers, signed (X-Twilio-Signature) with the auth
    token of the account that owns the number. Stored once per MessageSid and answered with
    empty TwiML at once; a task puts it in its conversation. 403 INVALID_SIGNATURE stores
    nothing."""
    try:
        twilio_inbound_accept(
            params=request.POST.dict(),
            urls=_public_urls(request),
            signature=request.headers.get("X-Twilio-Signature", ""),
        )
    except ApplicationError as exc:
        return _application_error(exc)
    return HttpResponse(TWIML_EMPTY, content_type="text/xml")


SANDBOX_INBOUND_FIELDS = ("from", "text", "to", "tenant", "message_id")


@csrf_exempt
@require_POST
def sandbox_inbound(request):
    """Development: a customer's SMS to a sandbox number, delivered through the pipeline of a
    provider's. JSON `{from, text, to?, tenant?, message_id?}`: to the sandbox number `to`,
    else to the sandbox number of the tenant whose subdomain is `tenant`; the same
    `message_id` twice is one message (a fresh id when absent). Answers `{message_id, from,
    to, stored}` at once (`stored` false for a message id delivered before); a task puts it
    in its conversation. Not there (404) unless the sandbox is the provider or DEBUG is on."""
    if not sandbox_inbound_enabled():
        return _error("Not found.", ErrorCode.NOT_FOUND, 404)
    try:
        body = json_loads_bounded(request.body.decode() or "null")
    except ValueError:
        return _error("The body is not JSON.", ErrorCode.MALFORMED_REQUEST, 400)
    except ApplicationError as exc:
        return _application_error(exc)
    if not isinstance(body, dict):
        return _error("Expected a JSON object.", ErrorCode.MALFORMED_REQUEST, 400)
    fields = {name: body.get(name) or "" for name in SANDBOX_INBOUND_FIELDS}
    for name, value in fields.items():
        if not isinstance(value, str):
            return _application_error(field_error(name, "Expected a string."))
    try:
        delivery = sandbox_inbound_deliver(
            sender=fields["from"],
            text=fields["text"],
            to=fields["to"],
            subdomain=fields["tenant"],
            message_id=fields["message_id"],
        )
    except ApplicationError as exc:
        return _application_error(exc)
    data = {
        "message_id": delivery.message_id,
        "from": delivery.sender,
        "to": delivery.to,
        "stored": delivery.stored,
    }
    message = "Delivered." if delivery.stored else "Delivered before; nothing new was stored."
    body = {"success": True, "message": message, "data": data, "error_code": None, "details": None}
    return JsonResponse(body)


@csrf_exempt
@require_POST
def zenopay_callback(request):
    """ZenoPay sends our API key back in x-api-key. A verified callback is only stored: the
    task that applies it asks ZenoPay for the order's status before anything is credited."""
    provider = get_payment_provider("zenopay")
    if not request.headers.get(API_KEY_HEADER):
        return _error("The x-api-key header is missing.", ErrorCode.AUTHENTICATION_REQUIRED, 401)
    if not provider.callback_verified(request.headers):
        return _error("Invalid x-api-key.", ErrorCode.PERMISSION_DENIED, 403)
    try:
        body = request.body.decode()
        payload = json_loads_bounded(body or "null")
    except ValueError:
        return _error("The body is not JSON.", ErrorCode.MALFORMED_REQUEST, 400)
    except ApplicationError as exc:
        return _error(exc.message, exc.code, 400)
    callback = provider.callback_parse(payload)
    if callback is None:
        return _error("Expected an object with an order_id.", ErrorCode.MALFORMED_REQUEST, 400)
    payment_callback_store(provider=provider.name, callback=callback, payload=body)
    return _ok(1, "payment callback")


@csrf_exempt
@require_POST
def stripe_webhook(request):
    """Stripe signs each event (Stripe-Signature over the timestamp and the raw body). A
    verified event is only stored, once by its id: the task that applies it asks Stripe for the
    Checkout Session before anything is credited. 400 for what does not verify, as Stripe
    expects, so it retries nothing forged."""
    provider = StripeProvider()
    signature = request.headers.get(SIGNATURE_HEADER, "")
    if not provider.event_verified(request.body, signature):
        return _error("Invalid or expired Stripe signature.", ErrorCode.INVALID_SIGNATURE, 400)
    try:
        body = request.body.decode()
        event = json_loads_bounded(body)
    except ValueError:
        return _error("The body is not JSON.", ErrorCode.MALFORMED_REQUEST, 400)
    except ApplicationError as exc:
        return _error(exc.message, exc.code, 400)
    if not isinstance(event, dict) or not isinstance(event.get("id"), str) or not event["id"]:
        return _error("Expected a Stripe event.", ErrorCode.MALFORMED_REQUEST, 400)
    stripe_event_store(event=event, callback=provider.callback_parse(event), payload=body)
    return _ok(1, "event")
