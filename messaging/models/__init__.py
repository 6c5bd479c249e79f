"""The messaging app's models (tenant schema), one module per part of the domain."""

from messaging.models.audience import (
    CONTACT_SEARCH_TEXT,
    SEARCH_FIELD_SEPARATOR,
    Contact,
    ContactImport,
    Segment,
    Template,
)
from messaging.models.base import Channel
from messaging.models.campaigns import Campaign, CampaignRun
from messaging.models.conversations import Conversation, KeywordSettings
from messaging.models.messages import STATUS_RANK, HandOver, Message, SendRequest

__all__ = [
    "CONTACT_SEARCH_TEXT",
    "SEARCH_FIELD_SEPARATOR",
    "STATUS_RANK",
    "Campaign",
    "CampaignRun",
    "Channel",
    "Contact",
    "ContactImport",
    "Conversation",
    "HandOver",
    "KeywordSettings",
    "Message",
    "Segment",
    "SendRequest",
    "Template",
]
