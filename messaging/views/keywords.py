"""The tenant's keywords and their replies (GET|PUT /api/messaging/keywords/): members read
them, owners and admins change them."""

from rest_framework.response import Response

from messaging.keywords import keyword_settings_get, keyword_settings_update
from messaging.serializers.keywords import (
    KeywordSettingsInputSerializer,
    KeywordSettingsSerializer,
)
from mifumo.openapi import api_doc, enveloped
from mifumo.permissions import require_manager
from mifumo.responses import envelope
from mifumo.tenancy import TenantRequest
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["keywords"]


class KeywordSettingsView(TenantScopedView):
    @api_doc(
        summary=(
            "The tenant's opt-out (STOP), opt-in (START) and help (HELP) keywords and the "
            "replies each sends, free of credits"
        ),
        responses={200: enveloped(KeywordSettingsSerializer)},
        errors=(401, 403),
        tags=TAGS,
    )
    def get(self, request: TenantRequest) -> Response:
        return envelope(KeywordSettingsSerializer(keyword_settings_get()).data)

    @api_doc(
        summary=(
            "Change the keywords and replies (owners and admins); what is left out stays. A "
            "keyword in two lists, a blank one or one with a space is a 400 naming the field"
        ),
        request=KeywordSettingsInputSerializer,
        responses={200: enveloped(KeywordSettingsSerializer)},
        errors=(400, 401, 403),
        tags=TAGS,
    )
    def put(self, request: TenantRequest) -> Response:
        require_manager(request, "change keywords")
        settings = keyword_settings_update(**validated(KeywordSettingsInputSerializer, request))
        return envelope(KeywordSettingsSerializer(settings).data, message="Keywords updated.")
