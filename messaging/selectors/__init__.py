"""Reads of the messaging app, one module per part of the domain (the tenant schema)."""

from messaging.selectors.audience import (
    contact_get,
    contact_import_get,
    contact_search,
    contacts_live,
    segment_get,
    segment_members,
    template_get,
)
from messaging.selectors.campaign_audience import (
    campaign_audience,
    campaign_estimate,
    campaign_recipients,
    campaign_targets,
)
from messaging.selectors.campaigns import (
    campaign_analytics,
    campaign_cost,
    campaign_get,
    campaign_list,
    campaign_page_context,
)
from messaging.selectors.messages import (
    PENDING_STATUSES,
    message_get,
    send_overall_status,
    send_requests_between,
    send_status_counts,
    sms_stats,
)

__all__ = [
    "PENDING_STATUSES",
    "campaign_analytics",
    "campaign_audience",
    "campaign_cost",
    "campaign_estimate",
    "campaign_get",
    "campaign_list",
    "campaign_page_context",
    "campaign_recipients",
    "campaign_targets",
    "contact_get",
    "contact_import_get",
    "contact_search",
    "contacts_live",
    "message_get",
    "segment_get",
    "segment_members",
    "send_overall_status",
    "send_requests_between",
    "send_status_counts",
    "sms_stats",
    "template_get",
]
