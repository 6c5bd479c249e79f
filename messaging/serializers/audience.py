"""Serializers of contacts, segments, templates and contact imports."""

from rest_framework import serializers

from messaging.models import (
    Channel,
    Contact,
    ContactImport,
    Segment,
    Template,
)
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
    # Typed as any text field: the integration API's subclass reads strict E.164 numbers.
    phone_e164: serializers.CharField = TenantPhoneField(required=False)
    phone_number: serializers.CharField = TenantPhoneField(required=False, write_only=True)
    phone: serializers.CharField = TenantPhoneField(required=False, write_only=True)
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
    channel = serializers.ChoiceField(Channel.choices, required=False)
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
    # `errors` is also the name of a Serializer property; the metaclass keeps fields apart.
    errors = ImportRowErrorSerializer(many=True)  # type: ignore[assignment]


class ContactImportSerializer(serializers.ModelSerializer):
    progress_percentage = serializers.IntegerField(read_only=True)
    counts = serializers.SerializerMethodField()
    errors = ImportRowErrorSerializer(many=True)  # type: ignore[assignment]  # as above

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
