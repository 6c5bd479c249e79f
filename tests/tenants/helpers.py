"""Routes and assertions shared by the tenants API tests."""

import re
import uuid

from django.core import mail

TENANTS = "/api/tenants/"
SWITCH = "/api/tenants/switch/"
PROFILE = "/api/auth/profile/"
INVITE_URL = re.compile(r"/api/tenants/invite/([A-Za-z0-9_-]+)/")


def detail_url(tenant_id) -> str:
    return f"{TENANTS}{tenant_id}/"


def domains_url(tenant_id) -> str:
    return f"{TENANTS}{tenant_id}/domains/"


def members_url(tenant_id) -> str:
    return f"{TENANTS}{tenant_id}/members/"


def invitation_url(token: str) -> str:
    return f"{TENANTS}invite/{token}/"


def unknown_id() -> str:
    return str(uuid.uuid4())


def sent_invitation_token(to: str) -> str:
    """The token in the newest invitation email to `to`."""
    (message,) = [m for m in mail.outbox if to in m.to][-1:]
    return INVITE_URL.search(message.body).group(1)
