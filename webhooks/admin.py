"""Operators read provider status reports, inbound messages, payment callbacks and Stripe
events as received (and what became of them). They are written only by the callback pipeline
(webhooks.services, webhooks.inbound), so these pages are read-only."""

from django.contrib import admin

from messaging.models import Message
from sms.admin import ChoicesFilter, ProviderFilter
from tenants.admin_scope import ReadOnlyAdmin
from webhooks.models import InboundMessage, PaymentCallback, StatusEvent, StripeEvent


class ReportedStatusFilter(ChoicesFilter):
    title = "reported status"
    parameter_name = "status"
    choices_of = Message.Status.choices


class PipelineRowAdmin(ReadOnlyAdmin):
    # The table grows with every message sent: no second COUNT, no counts per filter choice.
    show_full_result_count = False
    show_facets = admin.ShowFacets.NEVER


@admin.register(StatusEvent)
class StatusEventAdmin(PipelineRowAdmin):
    list_display = [
        "received_at",
        "provider",
        "status",
        "state",
        "provider_message_id",
        "reference",
        "schema_name",
        "error_code",
        "attempts",
        "processed_at",
    ]
    list_filter = ["state", ProviderFilter, ReportedStatusFilter]
    search_fields = ["provider_message_id", "reference", "event_id", "=schema_name"]


@admin.register(InboundMessage)
class InboundMessageAdmin(PipelineRowAdmin):
    """Failed rows keep their error, unmatched ones the address no channel held."""

    list_display = [
        "received_at",
        "provider",
        "sender",
        "recipient",
        "state",
        "schema_name",
        "segments",
        "media_count",
        "error",
        "processed_at",
    ]
    list_filter = ["state", ProviderFilter]
    search_fields = ["=provider_message_id", "=sender", "=recipient", "=schema_name"]


@admin.register(PaymentCallback)
class PaymentCallbackAdmin(ReadOnlyAdmin):
    list_display = [
        "received_at",
        "provider",
        "order_id",
        "payment_status",
        "state",
        "processed_at",
    ]
    list_filter = ["state", "provider"]
    search_fields = ["=order_id", "reference"]


@admin.register(StripeEvent)
class StripeEventAdmin(ReadOnlyAdmin):
    list_display = ["received_at", "event_type", "order_id", "state", "livemode", "processed_at"]
    list_filter = ["state", "event_type"]
    search_fields = ["=event_id", "=order_id", "=object_id"]
