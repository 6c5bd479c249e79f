"""The developer pages: the dashboard (session sign-in, the API keys and webhook endpoints of
the user's tenant) and the integration API reference.

Server-rendered HTML with CSRF-protected forms. Every change goes through the integration
services; every read through the selectors, scoped to the tenant of the user's membership.
Owners and admins manage; agents read.
"""

import functools

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login, logout
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from integration import selectors
from integration.forms import (
    ApiKeyForm,
    DashboardLoginForm,
    WebhookEndpointForm,
    add_service_errors,
)
from integration.services.keys import api_key_create, api_key_revoke
from integration.services.webhooks import (
    EVENT_TYPES,
    webhook_endpoint_create,
    webhook_endpoint_delete,
    webhook_endpoint_toggle,
)
from mifumo.errors import ApplicationError
from mifumo.principals import client_ip
from mifumo.ratelimit import rate_limit_hit

# The same rule the API's tenant middleware applies to a JWT user, so both pick one tenant.
from tenants.middleware import _preferred_membership

DASHBOARD = "integration-dashboard"
RECENT_DELIVERIES = 50


def dashboard_page(view):
    """A signed-in page of the dashboard; the view gets the user's membership."""

    @never_cache
    @login_required(login_url=reverse_lazy("integration-dashboard-login"))
    @functools.wraps(view)
    def page(request, *args, **kwargs):
        membership = _preferred_membership(request.user.pk)
        if membership is None:
            return render(request, "integration/no_membership.html")
        return view(request, membership, *args, **kwargs)

    return page


def dashboard_action(view):
    """A change made from the dashboard: POST only, by an owner or admin."""

    @require_POST
    @dashboard_page
    @functools.wraps(view)
    def action(request, membership, *args, **kwargs):
        if not membership.can_manage:
            raise PermissionDenied("Only the tenant's owners and admins can do this.")
        return view(request, membership, *args, **kwargs)

    return action


def _owned(selector, **lookup):
    """A row of the membership's tenant; any other id is the same 404."""
    try:
        return selector(**lookup)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc


def _dashboard(request, membership, *, status=200, **context):
    tenant_id = membership.tenant_id
    return render(
        request,
        "integration/dashboard.html",
        {
            "membership": membership,
            "api_keys": selectors.api_keys_of(tenant_id=tenant_id),
            "endpoints": selectors.webhook_endpoints_of(tenant_id=tenant_id),
            "key_form": context.pop("key_form", None) or ApiKeyForm(),
            "webhook_form": context.pop("webhook_form", None) or WebhookEndpointForm(),
            **context,
        },
        status=status,
    )


@never_cache
def dashboard_login(request):
    if request.user.is_authenticated:
        return redirect(DASHBOARD)
    next_url = request.POST.get("next") or request.GET.get("next", "")
    form, refusal = DashboardLoginForm(request), ""
    if request.method == "POST":
        # One budget with POST /api/auth/login/, so neither door can be brute-forced.
        limit = rate_limit_hit("auth:login", f"ip:{client_ip(request)}")
        if not limit.allowed:
            # Unbound: a bound form checks the password as soon as it is shown.
            form = DashboardLoginForm(request, initial={"email": request.POST.get("email")})
            refusal = f"Too many attempts; try again in {limit.retry_after()} s."
        else:
            form = DashboardLoginForm(request, data=request.POST)
            if form.is_valid():
                login(request, form.user)
                return redirect(_local_or_dashboard(request, next_url))
    return render(
        request,
        "integration/login.html",
        {"form": form, "refusal": refusal, "next": next_url},
    )


def _local_or_dashboard(request, url: str) -> str:
    if url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse(DASHBOARD)


@require_POST
def dashboard_logout(request):
    logout(request)
    messages.info(request, "You are signed out.")
    return redirect("integration-dashboard-login")


@require_GET
@dashboard_page
def dashboard(request, membership):
    return _dashboard(request, membership)


@dashboard_action
def api_key_create_page(request, membership):
    form = ApiKeyForm(request.POST)
    if form.is_valid():
        try:
            issued = api_key_create(
                tenant=membership.tenant,
                name=form.cleaned_data["name"],
                permissions=form.cleaned_data["permissions"],
                created_by=request.user,
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            # Rendered, not redirected: the key and secret are never stored in clear.
            return _dashboard(request, membership, issued=issued, status=201)
    return _dashboard(request, membership, key_form=form)


@dashboard_action
def api_key_revoke_page(request, membership, key_id):
    api_key = _owned(selectors.api_key_get, tenant_id=membership.tenant_id, key_id=key_id)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"The key “{api_key.name}” is revoked.")
    return redirect(DASHBOARD)


@dashboard_action
def webhook_create_page(request, membership):
    form = WebhookEndpointForm(request.POST)
    if form.is_valid():
        try:
            endpoint = webhook_endpoint_create(
                tenant=membership.tenant,
                url=form.cleaned_data["url"],
                events=form.cleaned_data["events"],
                created_by=request.user,
            )
        except ApplicationError as exc:
            add_service_errors(form, exc)
        else:
            return _dashboard(request, membership, new_endpoint=endpoint, status=201)
    return _dashboard(request, membership, webhook_form=form)


@require_GET
@dashboard_page
def webhook_page(request, membership, endpoint_id):
    endpoint = _owned(
        selectors.webhook_endpoint_get, tenant_id=membership.tenant_id, endpoint_id=endpoint_id
    )
    deliveries = selectors.webhook_deliveries_of(endpoint=endpoint)[:RECENT_DELIVERIES]
    return render(
        request,
        "integration/webhook.html",
        {"membership": membership, "endpoint": endpoint, "deliveries": deliveries},
    )


@dashboard_action
def webhook_toggle_page(request, membership, endpoint_id):
    endpoint = _owned(
        selectors.webhook_endpoint_get, tenant_id=membership.tenant_id, endpoint_id=endpoint_id
    )
    endpoint = webhook_endpoint_toggle(endpoint=endpoint)
    state = "enabled" if endpoint.is_active else "disabled"
    messages.success(request, f"The webhook {endpoint.url} is {state}.")
    return redirect(DASHBOARD)


@dashboard_action
def webhook_delete_page(request, membership, endpoint_id):
    endpoint = _owned(
        selectors.webhook_endpoint_get, tenant_id=membership.tenant_id, endpoint_id=endpoint_id
    )
    url = endpoint.url
    webhook_endpoint_delete(endpoint=endpoint)
    messages.success(request, f"The webhook {url} is deleted.")
    return redirect(DASHBOARD)


@require_GET
def documentation(request):
    base_url = settings.PUBLIC_BASE_URL.rstrip("/")
    retry_delays = settings.WEBHOOK_RETRY_DELAYS
    return render(
        request,
        "integration/documentation.html",
        {
            "base_url": base_url,
            "api_base": f"{base_url}/api/integration/v1",
            "rate_limits": settings.RATE_LIMITS,
            "event_types": EVENT_TYPES,
            "webhook_timeout": settings.WEBHOOK_TIMEOUT_SECONDS,
            "webhook_attempts": len(retry_delays) + 1,
            "webhook_retry_hours": round(sum(retry_delays) / 3600),
        },
    )
