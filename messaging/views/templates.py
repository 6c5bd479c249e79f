"""Message templates with {{variable}} placeholders: their preview, variables and favourites."""

from rest_framework import status

from messaging import selectors
from messaging import serializers as s
from messaging.filters import TEMPLATE_LIST_PARAMETERS, TemplateFilter, filtered
from messaging.models import Template
from messaging.services import templates as services
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["templates"]


class TemplateListView(TenantScopedView):
    @api_doc(
        summary="List templates (filters: channel, is_favorite / favorites_only)",
        responses={200: enveloped(s.TemplateSerializer, paginated=True)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
        paginated=True,
        manual_parameters=TEMPLATE_LIST_PARAMETERS,
    )
    def get(self, request):
        return paginated(
            request,
            filtered(TemplateFilter, request.query_params, Template.objects.all()),
            lambda page: s.TemplateSerializer(page, many=True).data,
            view=self,
        )

    @api_doc(
        summary="Create a template (`content` or `body_text`); variables are extracted",
        request=s.TemplateInputSerializer,
        responses={201: enveloped(s.TemplateSerializer)},
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request):
        template = services.template_create(
            data=dict(validated(s.TemplateInputSerializer, request)), created_by=request.user
        )
        return envelope(
            s.TemplateSerializer(template).data,
            message="Template created.",
            status=status.HTTP_201_CREATED,
        )


class TemplateDetailView(TenantScopedView):
    @api_doc(
        summary="A template",
        responses={200: enveloped(s.TemplateSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, template_id):
        return envelope(s.TemplateSerializer(selectors.template_get(template_id=template_id)).data)

    @api_doc(
        summary="Update a template (a partial body is fine)",
        request=s.TemplateInputSerializer,
        responses={200: enveloped(s.TemplateSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def put(self, request, template_id):
        template = selectors.template_get(template_id=template_id)
        data = validated(s.TemplateInputSerializer, request, partial=True)
        template = services.template_update(template=template, data=dict(data))
        return envelope(s.TemplateSerializer(template).data, message="Template updated.")

    @api_doc(
        summary="Delete a template",
        responses={200: enveloped(None)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def delete(self, request, template_id):
        services.template_delete(template=selectors.template_get(template_id=template_id))
        return envelope(message="Template deleted.")


class TemplatePreviewView(TenantScopedView):
    @api_doc(
        summary="Render a template for a contact or given variables, with its SMS segments",
        request=s.TemplatePreviewInputSerializer,
        responses={200: enveloped(s.TemplatePreviewSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, template_id):
        template = selectors.template_get(template_id=template_id)
        data = validated(s.TemplatePreviewInputSerializer, request)
        values = dict(data.get("variables", {}))
        if "contact_id" in data:
            contact = selectors.contact_get(contact_id=data["contact_id"])
            values = {**services.contact_variables(contact), **values}
        return envelope(services.template_preview(template=template, values=values))


class TemplateFavoriteView(TenantScopedView):
    @api_doc(
        summary="Toggle a template's favourite flag (or set it with `is_favorite`)",
        request=s.TemplateFavoriteInputSerializer,
        responses={200: enveloped(s.TemplateSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def post(self, request, template_id):
        template = selectors.template_get(template_id=template_id)
        data = validated(s.TemplateFavoriteInputSerializer, request)
        template = services.template_favorite_set(
            template=template, is_favorite=data.get("is_favorite")
        )
        message = "Added to favourites." if template.is_favorite else "Removed from favourites."
        return envelope(s.TemplateSerializer(template).data, message=message)


class TemplateVariablesView(TenantScopedView):
    @api_doc(
        summary="A template's {{variables}}: those every contact fills and the others",
        responses={200: enveloped(s.TemplateVariablesSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, template_id):
        template = selectors.template_get(template_id=template_id)
        return envelope(
            s.TemplateVariablesSerializer(services.template_variables_describe(template)).data
        )
