"""Campaigns: list, create (or dry-run), read, edit, delete, duplicate, analytics, and
start/pause/resume/cancel."""

from drf_yasg import openapi
from rest_framework import status

from messaging import selectors
from messaging import serializers as s
from messaging.services import campaigns as services
from mifumo.idempotency import idempotent
from mifumo.openapi import api_doc, enveloped
from mifumo.pagination import paginated
from mifumo.responses import envelope
from mifumo.validation import validated
from mifumo.views import TenantScopedView

TAGS = ["campaigns"]
LIST_PARAMETERS = [
    openapi.Parameter("status", openapi.IN_QUERY, "A campaign status", type=openapi.TYPE_STRING),
    openapi.Parameter("type", openapi.IN_QUERY, "sms", type=openapi.TYPE_STRING),
    openapi.Parameter("search", openapi.IN_QUERY, "In the name", type=openapi.TYPE_STRING),
]
DRY_RUN = openapi.Parameter(
    "dry_run", openapi.IN_QUERY, "true: estimate and explain, save nothing", type="boolean"
)


def render(campaigns) -> list:
    """Campaigns with their creators' and segments' names and their latest runs, in three
    queries for a whole page."""
    campaigns = list(campaigns)
    context = selectors.campaign_page_context(campaigns=campaigns)
    return list(s.CampaignSerializer(campaigns, many=True, context=context).data)


class CampaignListView(TenantScopedView):
    @api_doc(
        summary="List campaigns (status, type, search), with their stored counters",
        responses={200: enveloped(s.CampaignSerializer, paginated=True)},
        errors=(400, 401, 403),
        tags=TAGS,
        paginated=True,
        manual_parameters=LIST_PARAMETERS,
    )
    def get(self, request):
        params = request.query_params
        campaigns = selectors.campaign_list(
            status=params.get("status", ""),
            campaign_type=params.get("type", ""),
            search=params.get("search", ""),
        )
        return paginated(request, campaigns, render, view=self)

    @api_doc(
        summary="Create a campaign (draft, or scheduled with scheduled_at); ?dry_run=true "
        "only estimates and explains the audience",
        request=s.CampaignInputSerializer,
        responses={
            201: enveloped(s.CampaignSerializer),
            200: enveloped(s.CampaignDryRunSerializer),
        },
        errors=(400, 401, 403, 409, 422),
        tags=TAGS,
        manual_parameters=[DRY_RUN],
    )
    @idempotent
    def post(self, request):
        data = validated(s.CampaignInputSerializer, request)
        if request.query_params.get("dry_run", "").lower() in ("true", "1", "yes"):
            return envelope(dry_run(data), message="Dry run: nothing was saved.")
        campaign = services.campaign_create(
            tenant=request.tenant, data=data, created_by=request.user
        )
        return envelope(
            render([campaign])[0], message="Campaign created.", status=status.HTTP_201_CREATED
        )


def dry_run(data: dict) -> dict:
    audience = selectors.campaign_audience(
        contact_ids=data.get("target_contact_ids"),
        segment_ids=data.get("target_segment_ids"),
        criteria=data.get("target_criteria"),
    )
    estimate = selectors.campaign_estimate(
        audience=audience, text=data.get("message_text", ""), template=data.get("template")
    )
    return {
        "total_recipients": estimate.total_recipients,
        "estimated_cost": estimate.cost,
        "segments_per_message": estimate.segments_per_message,
        "credits": estimate.credits,
        "explanations": estimate.explanations,
    }


class CampaignDetailView(TenantScopedView):
    @api_doc(
        summary="A campaign",
        responses={200: enveloped(s.CampaignSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, campaign_id):
        return envelope(render([selectors.campaign_get(campaign_id=campaign_id)])[0])

    @api_doc(
        summary="Edit a draft or scheduled campaign (a partial body is fine)",
        request=s.CampaignInputSerializer,
        responses={200: enveloped(s.CampaignSerializer)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def put(self, request, campaign_id):
        campaign = selectors.campaign_get(campaign_id=campaign_id)
        data = validated(s.CampaignInputSerializer, request, partial=True)
        campaign = services.campaign_update(campaign=campaign, tenant=request.tenant, data=data)
        return envelope(render([campaign])[0], message="Campaign updated.")

    @api_doc(
        summary="Delete a campaign that is not running",
        responses={200: enveloped(None)},
        errors=(400, 401, 403, 404),
        tags=TAGS,
    )
    def delete(self, request, campaign_id):
        services.campaign_delete(campaign=selectors.campaign_get(campaign_id=campaign_id))
        return envelope(message="Campaign deleted.")


class CampaignAnalyticsView(TenantScopedView):
    @api_doc(
        summary="A campaign's results: counts, delivery rate, cost, duration and pace",
        responses={200: enveloped(s.CampaignAnalyticsSerializer)},
        errors=(401, 403, 404),
        tags=TAGS,
    )
    def get(self, request, campaign_id):
        campaign = selectors.campaign_get(campaign_id=campaign_id)
        analytics = selectors.campaign_analytics(campaign=campaign)
        return envelope(s.CampaignAnalyticsSerializer(analytics).data)


class CampaignDuplicateView(TenantScopedView):
    @api_doc(
        summary='Copy a campaign into a new draft (named "<name> (Copy)" unless `name` is given)',
        request=s.CampaignDuplicateInputSerializer,
        responses={201: enveloped(s.CampaignSerializer)},
        errors=(400, 401, 403, 404, 409, 422),
        tags=TAGS,
    )
    @idempotent
    def post(self, request, campaign_id):
        original = selectors.campaign_get(campaign_id=campaign_id)
        name = validated(s.CampaignDuplicateInputSerializer, request).get("name", "").strip()
        campaign = services.campaign_duplicate(
            campaign=original, tenant=request.tenant, name=name or None, created_by=request.user
        )
        return envelope(
            render([campaign])[0], message="Campaign duplicated.", status=status.HTTP_201_CREATED
        )


ACTION_ERRORS = (400, 401, 403, 404)


class CampaignStartView(TenantScopedView):
    @api_doc(
        summary="Start now: checked against the stored estimate (402 when the balance is "
        "short), then its messages are made and sent in the background; a send that can no "
        "longer be made fails the campaign (failure_reason)",
        responses={200: enveloped(s.CampaignSerializer)},
        errors=(*ACTION_ERRORS, 402),
        tags=TAGS,
    )
    def post(self, request, campaign_id):
        campaign = services.campaign_start(
            campaign=selectors.campaign_get(campaign_id=campaign_id),
            tenant=request.tenant,
            started_by=request.user,
        )
        return envelope(render([campaign])[0], message="Campaign started successfully")


class CampaignPauseView(TenantScopedView):
    @api_doc(
        summary="Pause: the batch being sent finishes, the rest waits",
        responses={200: enveloped(s.CampaignSerializer)},
        errors=ACTION_ERRORS,
        tags=TAGS,
    )
    def post(self, request, campaign_id):
        campaign = services.campaign_pause(campaign=selectors.campaign_get(campaign_id=campaign_id))
        return envelope(render([campaign])[0], message="Campaign paused.")


class CampaignResumeView(TenantScopedView):
    @api_doc(
        summary="Resume a paused campaign where it stopped",
        responses={200: enveloped(s.CampaignSerializer)},
        errors=ACTION_ERRORS,
        tags=TAGS,
    )
    def post(self, request, campaign_id):
        campaign = services.campaign_resume(
            campaign=selectors.campaign_get(campaign_id=campaign_id)
        )
        return envelope(render([campaign])[0], message="Campaign resumed.")


class CampaignCancelView(TenantScopedView):
    @api_doc(
        summary="Cancel: stop what is not sent yet and refund its credits",
        responses={200: enveloped(s.CampaignSerializer)},
        errors=ACTION_ERRORS,
        tags=TAGS,
    )
    def post(self, request, campaign_id):
        campaign = services.campaign_cancel(
            campaign=selectors.campaign_get(campaign_id=campaign_id), tenant=request.tenant
        )
        return envelope(render([campaign])[0], message="Campaign cancelled.")
