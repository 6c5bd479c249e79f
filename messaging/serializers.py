from rest_framework import serializers

from billing.selectors import credits_cost
from messaging.models import (
    Campaign,
    CampaignRun,
    Contact,
    ContactImport,
    Message,
    Segment,
    Template,
)
from messaging.selectors import campaign_cost
from messaging.services.contacts import normalize_tags
from mifumo.phone import PhoneNumberField

ATTRIBUTE_VALUE_TYPES = (str, int, float, bool)


class ContactSerializer(serializers.ModelSerializer):
    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "phone_e164",
            "email",
            "attributes",
            "tags",
            "is_active",
            "is_opted_in",
            "opt_in_at",
            "opt_out_at",
            "opt_out_reason",
            "last_contacted_at",
            "created_by",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class ContactUpsertResultSerializer(ContactSerializer):
    upserted = serializers.BooleanField()

    class Meta(ContactSerializer.Meta):
        fields = [*ContactSerializer.Meta.fields, "upserted"]
        read_only_fields = fields


class TenantPhoneField(PhoneNumberField):
    """Reads local spellings in the country of the request's tenant."""

    def to_internal_value(self, data):
        request = self.context.get("request")
        self.region = getattr(getattr(request, "tenant", None), "country", None)
        return super().to_internal_value(data)


class ContactInputSerializer(serializers.Serializer):
    """Create or update a contact. The phone may be sent as phone_e164, phone_number or phone."""

    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    phone_e164 = TenantPhoneField(required=False)
    phone_number = TenantPhoneField(required=False, write_only=True)
    phone = TenantPhoneField(required=False, write_only=True)
    email = serializers.EmailField(required=False, allow_blank=True)
    attributes = serializers.DictField(required=False)
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64, allow_blank=True), required=False
    )
    is_active = serializers.BooleanField(required=False)

    def validate_attributes(self, value):
        nested = [k for k, v in value.items() if not isinstance(v, ATTRIBUTE_VALUE_TYPES)]
        if nested:
            raise serializers.ValidationError(
                f"Attributes must be flat: text, number or boolean values ({', '.join(nested)})."
            )
        return value

    def validate_email(self, value):
        return value.strip().lower()

    def validate_tags(self, value):
        return normalize_tags(value)

    def validate(self, attrs):
        for alias in ("phone_number", "phone"):
            if alias in attrs:
                attrs.setdefault("phone_e164", attrs.pop(alias))
        if not self.partial and "phone_e164" not in attrs:
            raise serializers.ValidationError({"phone_e164": ["A phone number is required."]})
        return attrs


BULK_MAX_CONTACTS = 10_000


class ContactBulkInputSerializer(serializers.Serializer):
    contact_ids = serializers.ListField(
        child=serializers.UUIDField(),
        min_length=1,
        max_length=BULK_MAX_CONTACTS,
        help_text=f"Up to {BULK_MAX_CONTACTS:,} contacts; any unknown id is a 404 and changes "
        "nothing",
    )


class ContactBulkTagsInputSerializer(ContactBulkInputSerializer):
    tags = serializers.ListField(
        child=serializers.CharField(max_length=64, allow_blank=True), min_length=1, max_length=100
    )

    def validate_tags(self, value):
        tags = normalize_tags(value)
        if not tags:
            raise serializers.ValidationError("Give at least one tag.")
        return tags


class ContactBulkDeleteResultSerializer(serializers.Serializer):
    deleted = serializers.IntegerField(help_text="Contacts deleted")


class ContactBulkUpdateResultSerializer(serializers.Serializer):
    updated = serializers.IntegerField(help_text="Contacts whose tags changed")


class OptOutSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=255, required=False, allow_blank=True, default="")


class SegmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Segment
        fields = [
            "id",
            "name",
            "description",
            "filter_json",
            "contact_count",
            "counted_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class SegmentInputSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True)
    filter_json = serializers.JSONField(required=False)


class TemplateSerializer(serializers.ModelSerializer):
    body_text = serializers.CharField(source="content", read_only=True)

    class Meta:
        model = Template
        fields = [
            "id",
            "name",
            "category",
            "language",
            "channel",
            "content",
            "body_text",
            "variables",
            "is_active",
            "approval_status",
            "usage_count",
            "is_favorite",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class TemplateInputSerializer(serializers.Serializer):
    """`content` is also accepted as `body_text`; variables are read from the text."""

    name = serializers.CharField(max_length=200)
    category = serializers.CharField(max_length=64, required=False, allow_blank=True)
    language = serializers.ChoiceField(Template.Language.choices, required=False)
    channel = serializers.ChoiceField(Template.Channel.choices, required=False)
    content = serializers.CharField(required=False)
    body_text = serializers.CharField(required=False, write_only=True)
    is_active = serializers.BooleanField(required=False)

    def validate(self, attrs):
        if "body_text" in attrs:
            attrs.setdefault("content", attrs.pop("body_text"))
        if not self.partial and not attrs.get("content", "").strip():
            raise serializers.ValidationError({"content": ["The template text is required."]})
        return attrs


class TemplatePreviewInputSerializer(serializers.Serializer):
    contact_id = serializers.UUIDField(required=False)
    variables = serializers.DictField(child=serializers.CharField(allow_blank=True), required=False)


class TemplateFavoriteInputSerializer(serializers.Serializer):
    is_favorite = serializers.BooleanField(
        required=False, help_text="Set it; without it the favourite flag is toggled"
    )


class TemplateVariablesSerializer(serializers.Serializer):
    template_id = serializers.UUIDField()
    variables = serializers.ListField(
        child=serializers.CharField(), help_text="Each {{placeholder}}, in order of appearance"
    )
    contact_fields = serializers.ListField(
        child=serializers.CharField(), help_text="Those every contact fills (name, phone...)"
    )
    attribute_fields = serializers.ListField(
        child=serializers.CharField(),
        help_text="The others: filled from a contact's attributes, or given at preview",
    )


class TemplatePreviewSerializer(serializers.Serializer):
    text = serializers.CharField()
    encoding = serializers.CharField()
    characters = serializers.IntegerField()
    segments = serializers.IntegerField()
    missing_variables = serializers.ListField(child=serializers.CharField())


class ImportRowErrorSerializer(serializers.Serializer):
    row = serializers.IntegerField()
    field = serializers.CharField()
    message = serializers.CharField()


class ImportResultSerializer(serializers.Serializer):
    imported_count = serializers.IntegerField()
    updated_count = serializers.IntegerField()
    skipped_count = serializers.IntegerField()
    total_processed = serializers.IntegerField()
    errors = ImportRowErrorSerializer(many=True)


class ContactImportSerializer(serializers.ModelSerializer):
    progress_percentage = serializers.IntegerField(read_only=True)
    counts = serializers.SerializerMethodField()
    errors = ImportRowErrorSerializer(many=True)

    class Meta:
        model = ContactImport
        fields = [
            "id",
            "status",
            "progress_percentage",
            "counts",
            "errors",
            "failure",
            "created_at",
            "started_at",
            "finished_at",
        ]
        read_only_fields = fields

    def get_counts(self, job) -> dict:
        return {
            "total_rows": job.total_rows,
            "imported_count": job.imported_count,
            "updated_count": job.updated_count,
            "skipped_count": job.skipped_count,
            "total_processed": job.imported_count + job.updated_count + job.skipped_count,
        }


class BulkImportInputSerializer(serializers.Serializer):
    """JSON `{import_type: "csv", csv_data}` or a multipart `file` (CSV or XLSX)."""

    import_type = serializers.ChoiceField(["csv", "xlsx"], required=False)
    csv_data = serializers.CharField(required=False, allow_blank=True, trim_whitespace=False)
    file = serializers.FileField(required=False)
    skip_duplicates = serializers.BooleanField(default=True)
    update_existing = serializers.BooleanField(default=False)

    def validate(self, attrs):
        if not attrs.get("file") and "csv_data" not in attrs:
            raise serializers.ValidationError(
                {"file": ["Upload a CSV or XLSX `file`, or send `csv_data`."]}
            )
        return attrs


class MessageSerializer(serializers.ModelSerializer):
    message_id = serializers.UUIDField(source="send_request_id", read_only=True, allow_null=True)

    class Meta:
        model = Message
        fields = [
            "id",
            "message_id",
            "contact",
            "direction",
            "channel",
            "status",
            "recipient",
            "sender",
            "text",
            "encoding",
            "segments",
            "credits",
            "provider",
            "provider_message_id",
            "error_code",
            "error_message",
            "attempts",
            "scheduled_at",
            "queued_at",
            "sent_at",
            "delivered_at",
            "failed_at",
            "canceled_at",
            "received_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields
        ref_name = "ChannelMessage"  # accounts has a MessageSerializer of its own


# --- Campaigns


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
    read_rate = serializers.SerializerMethodField()
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
            "read_count", "failed_count", "estimated_cost", "actual_cost", "progress_percentage",
            "delivery_rate", "read_rate", "can_edit", "can_start", "can_pause", "can_cancel",
            "is_recurring", "recurring_schedule", "next_run_at", "runs", "settings",
            "target_contact_ids",
            "target_segment_ids", "target_criteria", "target_contact_count",
            "target_segment_names", "failure_reason", "created_by", "created_by_name",
            "created_at", "updated_at",
        ]  # fmt: skip
        read_only_fields = fields

    def get_estimated_cost(self, campaign) -> float:
        return float(credits_cost(campaign.credits_reserved or campaign.total_recipients))

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

    def get_read_rate(self, campaign) -> float:
        sent = campaign.sent_count
        return round(campaign.read_count * 100 / sent, 2) if sent else 0.0

    def get_can_edit(self, campaign) -> bool:
        return campaign.status in (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)

    def get_can_start(self, campaign) -> bool:
        startable = (Campaign.Status.DRAFT, Campaign.Status.SCHEDULED)
        return campaign.status in startable and not campaign.is_recurring

    def get_can_pause(self, campaign) -> bool:
        return campaign.status == Campaign.Status.RUNNING

    def get_can_cancel(self, campaign) -> bool:
        return campaign.status not in (
            Campaign.Status.COMPLETED, Campaign.Status.CANCELLED, Campaign.Status.FAILED
        )  # fmt: skip

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
