"""Provider callbacks. Each verifies the caller, stores the reports and answers at once;
applying them is a task's job (webhooks.services)."""

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
from mifumo.errors import ApplicationError, ErrorCode, error_body
from mifumo.input_limits import json_loads_bounded
from sms.providers import get_provider
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
    the tenant's schema."""
    provider = get_provider("twilio")
    params = request.POST.dict()
    url = settings.PUBLIC_BASE_URL.rstrip("/") + request.get_full_path()
    signature = request.headers.get("X-Twilio-Signature", "")
    if not provider.verify_callback(url=url, params=params, signature=signature):
        return _error("Invalid Twilio signature.", ErrorCode.PERMISSION_DENIED, 403)
    reports = provider.status_reports(params)
    schema = request.GET.get("schema", "")
    status_events_store(
        provider="twilio", reports=reports, payload=json.dumps(params), schema_name=schema
    )
    return _ok(len(reports))


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
