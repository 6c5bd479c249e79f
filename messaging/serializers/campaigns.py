"""Serializers of campaigns and their runs, dry runs and analytics."""

from rest_framework import serializers

from billing.selectors import credits_cost
from messaging.models import (
    Campaign,
    CampaignRun,
    Template,
)
from messaging.selectors import campaign_cost


class CampaignRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = CampaignRun
        fields = ["scheduled_for", "started_at", "status", "recipients", "failure_reason"]
        read_only_fields = fields


class CampaignSerializer(serializers.ModelSerializer):
    """A campaign as listed and read: stored counters, never a count of its messages. `runs`
    are the latest runs of a recurring campaign, prefetched as `recent_runs` for a page."""

    campaign_type_display = serializers.CharField(source="get_campaign_type_display")
    status_display = serializers.CharField(source="get_status_display")
    estimated_cost = serializers.SerializerMethodField()
    actual_cost = serializers.SerializerMethodField()
    progress_percentage = serializers.SerializerMethodField()
    delivery_rate = serializers.SerializerMethodField()
    can_edit = serializers.SerializerMethodField()
    can_start = serializers.SerializerMethodField()
    can_pause = serializers.SerializerMethodField()
    can_cancel = serializers.SerializerMethodField()
    created_by_name = serializers.SerializerMethodField()
    target_contact_count = serializers.SerializerMethodField()
    target_segment_names = serializers.SerializerMethodField()
    runs = CampaignRunSerializer(source="recent_runs", many=True)

    class Meta:
        model = Campaign
        fields = [
            "id", "name", "description", "campaign_type", "campaign_type_display",
            "message_text", "template", "sender_id", "status", "status_display", "scheduled_at",
            "started_at", "completed_at", "total_recipients", "sent_count", "delivered_count",
            "failed_count", "estimated_cost", "actual_cost", "progress_percentage",
            "delivery_rate", "can_edit", "can_start", "can_pause", "can_cancel",
            "is_recurring", "recurring_schedule", "next_run_at", "runs", "settings",
            "target_contact_ids",
            "target_segment_ids", "target_criteria", "target_contact_count",
            "target_segment_names", "failure_reason", "created_by", "created_by_name",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_estimated_cost(self, campaign) -> float:
        return float(credits_cost(campaign.credits_reserved or campaign.estimated_credits))

    def get_actual_cost(self, campaign) -> float:
        return campaign_cost(campaign)

    def get_progress_percentage(self, campaign) -> int:
        if campaign.status == Campaign.Status.COMPLETED:
            return 100
        total = campaign.total_recipients
        if not total or campaign.send_request_id is None:
            return 0
        return int((total - campaign.pending_count) * 100 / total)

    def get_delivery_rate(self, campaign) -> float:
        sent = campaign.sent_count
        return round(campaign.delivered_count * 100 / sent, 2) if sent else 0.0

    def get_can_edit(self, campaign) -> bool:
        return campaign.can("edit")

    def get_can_start(self, campaign) -> bool:
        return campaign.can("start")

    def get_can_pause(self, campaign) -> bool:
        return campaign.can("pause")

    def get_can_cancel(self, campaign) -> bool:
        return campaign.can("cancel")

    def get_created_by_name(self, campaign) -> str:
        names = self.context.get("user_names", {})
        return names.get(campaign.created_by_id, "")

    def get_target_contact_count(self, campaign) -> int:
        return campaign.total_recipients

    def get_target_segment_names(self, campaign) -> list[str]:
        names = self.context.get("segment_names", {})
        return [names[pk] for pk in campaign.target_segment_ids if pk in names]


class BlankableDateTimeField(serializers.DateTimeField):
    """A date-time where "" means none, as the dashboard sends an emptied date input."""

    def to_internal_value(self, value):
        if isinstance(value, str) and not value.strip():
            return None
        return super().to_internal_value(value)


class CampaignInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    campaign_type = serializers.ChoiceField(choices=Campaign.Type.choices, required=False)
    message_text = serializers.CharField(
        required=False, allow_blank=True, max_length=1600, trim_whitespace=False
    )
    template = serializers.PrimaryKeyRelatedField(
        queryset=Template.objects.all(), required=False, allow_null=True
    )
    sender_id = serializers.CharField(required=False, allow_blank=True, max_length=11)
    target_contact_ids = serializers.ListField(child=serializers.UUIDField(), required=False)
    target_segment_ids = serializers.ListField(child=serializers.UUIDField(), required=False)
    target_criteria = serializers.JSONField(required=False)
    settings = serializers.JSONField(required=False)
    is_recurring = serializers.BooleanField(required=False)
    recurring_schedule = serializers.JSONField(required=False)
    scheduled_at = BlankableDateTimeField(
        required=False, allow_null=True, help_text='null or "": not scheduled'
    )


class CampaignDuplicateInputSerializer(serializers.Serializer):
    name = serializers.CharField(
        max_length=200,
        required=False,
        allow_blank=True,
        help_text='The copy\'s name; default "<name> (Copy)"',
    )


class CampaignDryRunSerializer(serializers.Serializer):
    total_recipients = serializers.IntegerField()
    estimated_cost = serializers.FloatField()
    segments_per_message = serializers.IntegerField()
    credits = serializers.IntegerField()
    explanations = serializers.ListField(child=serializers.CharField())


class CampaignAnalyticsSerializer(serializers.Serializer):
    campaign_id = serializers.UUIDField()
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=Campaign.Status.choices)
    total_recipients = serializers.IntegerField()
    sent = serializers.IntegerField(help_text="Handed to the provider (delivered or not)")
    delivered = serializers.IntegerField()
    failed = serializers.IntegerField(help_text="Failed or undelivered")
    delivery_rate = serializers.FloatField(help_text="delivered / sent, in percent")
    cost = serializers.FloatField(help_text="What the sent messages cost")
    currency = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    completed_at = serializers.DateTimeField(allow_null=True)
    duration_seconds = serializers.FloatField(
        allow_null=True, help_text="From start to completion (or to now); null before a start"
    )
    messages_per_second = serializers.FloatField(
        allow_null=True, help_text="sent / duration_seconds; null before a start"
    )
