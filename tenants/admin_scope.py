"""The operators' tenant picker: the admin pages of tenant-schema models (messaging's) run in
the one tenant schema an operator picked, kept in their session.

Admin requests come through the platform host, so the tenancy middleware leaves them on the
public schema. A TenantScopedAdmin view switches to the picked tenant's schema for the view
and the rendering of its page only, and switches back in a `finally` (tenant_context), so the
schema never outlives the request's view. Without a picked tenant, its changelist says so and
links to the picker. `ReadOnlyAdmin` (operators look, and act through services) and
`service_each` (the body of an action that changes rows through a service) serve the public
apps' admins too.
"""

from urllib.parse import urlencode

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.options import IS_POPUP_VAR
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django_tenants.utils import tenant_context

from mifumo.errors import ApplicationError
from tenants.models import Tenant

SESSION_KEY = "admin_scoped_tenant_id"
PICKER_URL_NAME = "admin:tenants_tenant_scope"
SCOPED_APP_LABEL = "messaging"


def picked_tenant(request) -> Tenant | None:
    """The tenant whose schema this operator's tenant-model pages show, or None."""
    tenant_id = request.session.get(SESSION_KEY)
    if not tenant_id:
        return None
    return Tenant.objects.filter(pk=tenant_id).first()


def tenant_pick(request, tenant: Tenant | None) -> None:
    """Remember `tenant` for this operator's next tenant-model pages (None forgets it)."""
    if tenant is None:
        request.session.pop(SESSION_KEY, None)
    else:
        request.session[SESSION_KEY] = str(tenant.pk)


def picker_url(next_url: str = "") -> str:
    url = reverse(PICKER_URL_NAME)
    if next_url:
        url = f"{url}?{urlencode({'next': next_url})}"
    return url


class TenantPickForm(forms.Form):
    tenant = forms.ModelChoiceField(
        queryset=Tenant.objects.order_by("name"),
        empty_label=None,
        help_text="Contacts, imports, segments, templates, sends, messages, campaigns and "
        "their runs are shown from this tenant's schema.",
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


def _safe_next(request, url: str) -> str:
    if url and url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return url
    return reverse("admin:app_list", kwargs={"app_label": SCOPED_APP_LABEL})


def tenant_pick_view(request, model_admin):
    """GET: the form (the current choice preselected, or ?tenant=<id>); POST: remember the
    chosen tenant and go on to `next`; POST with `clear`: forget it."""
    if not model_admin.has_view_permission(request):
        raise PermissionDenied
    current = picked_tenant(request)
    if request.method == "POST":
        if "clear" in request.POST:
            tenant_pick(request, None)
            model_admin.message_user(request, "No tenant is picked now.", messages.INFO)
            return HttpResponseRedirect(reverse(PICKER_URL_NAME))
        form = TenantPickForm(request.POST)
        if form.is_valid():
            tenant = form.cleaned_data["tenant"]
            tenant_pick(request, tenant)
            model_admin.message_user(
                request,
                f"Tenant-schema pages now show {tenant} (schema {tenant.schema_name}).",
                messages.SUCCESS,
            )
            return HttpResponseRedirect(_safe_next(request, form.cleaned_data["next"]))
    else:
        chosen = request.GET.get("tenant") or (current.pk if current else None)
        form = TenantPickForm(initial={"tenant": chosen, "next": request.GET.get("next", "")})
    context = {
        **model_admin.admin_site.each_context(request),
        "title": "Pick a tenant",
        "opts": model_admin.opts,
        "form": form,
        "scoped_tenant": current,
        "scoped_app_url": reverse("admin:app_list", kwargs={"app_label": SCOPED_APP_LABEL}),
    }
    return TemplateResponse(request, "admin/tenant_scope/picker.html", context)


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows the platform and its services write; operators look, and act through actions that
    call the services. Actions ask for the `operate` permission: the model's change
    permission in Django's terms, though the change form stays read-only."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def has_operate_permission(self, request):
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")


class TenantScopedAdmin(ReadOnlyAdmin):
    """A ModelAdmin of a tenant-schema model: its pages run in the picked tenant's schema,
    read-only like every ReadOnlyAdmin (writes belong to messaging's services)."""

    change_list_template = "admin/tenant_scope/change_list.html"
    change_form_template = "admin/tenant_scope/change_form.html"
    object_history_template = "admin/tenant_scope/object_history.html"
    # Tenant tables can be large: no second COUNT per page, no counts per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER

    def changelist_view(self, request, extra_context=None):
        tenant = picked_tenant(request)
        if tenant is None:
            return self._no_tenant_page(request)
        return self._in_tenant(tenant, request, super().changelist_view, extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        tenant = picked_tenant(request)
        if tenant is None:
            return HttpResponseRedirect(picker_url(request.get_full_path()))
        view = super().changeform_view
        return self._in_tenant(tenant, request, view, extra_context, object_id, form_url)

    def delete_view(self, request, object_id, extra_context=None):
        tenant = picked_tenant(request)
        if tenant is None:
            return HttpResponseRedirect(picker_url(request.get_full_path()))
        return self._in_tenant(tenant, request, super().delete_view, extra_context, object_id)

    def history_view(self, request, object_id, extra_context=None):
        tenant = picked_tenant(request)
        if tenant is None:
            return HttpResponseRedirect(picker_url(request.get_full_path()))
        return self._in_tenant(tenant, request, super().history_view, extra_context, object_id)

    def _in_tenant(self, tenant, request, view, extra_context, *args):
        if not request.user.is_superuser:
            # Read in the public schema before the switch; the user keeps them for the request.
            request.user.get_all_permissions()
        context = {
            **(extra_context or {}),
            "scoped_tenant": tenant,
            "tenant_picker_url": picker_url(request.get_full_path()),
        }
        with tenant_context(tenant):
            response = view(request, *args, extra_context=context)
            # Querysets in the page's context are lazy: evaluate them in this schema.
            if hasattr(response, "render") and not response.is_rendered:
                response.render()
        return response

    def _no_tenant_page(self, request):
        context = {
            **self.admin_site.each_context(request),
            "title": f"Pick a tenant to see its {self.opts.verbose_name_plural}",
            "opts": self.opts,
            "is_popup": IS_POPUP_VAR in request.GET,
            "tenant_picker_url": picker_url(request.get_full_path()),
        }
        return TemplateResponse(request, "admin/tenant_scope/no_tenant.html", context)


def service_each(model_admin, request, queryset, call, done: str) -> None:
    """An admin action's body: `call(obj)` (a service) for each selected row; a row the service
    refuses (ApplicationError) is reported with its reason, the others in one message."""
    changed, refused = [], []
    for obj in queryset:
        try:
            result = call(obj)
        except ApplicationError as exc:
            refused.append(f"{obj}: {exc.message}")
        else:  # the row as the service left it, when it returns it (its new state shows)
            changed.append(str(result if isinstance(result, type(obj)) else obj))
    if changed:
        model_admin.message_user(request, f"{done}: {', '.join(changed)}.", messages.SUCCESS)
    for message in refused:
        model_admin.message_user(request, message, messages.WARNING)
