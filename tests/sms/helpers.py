"""Shared URLs and builders of the SMS sending tests."""

from billing.models import CreditBalance
from billing.services import credit_add

SEND = "/api/messaging/sms/send/"
BALANCE = "/api/messaging/sms/balance/"
STATS = "/api/messaging/sms/stats/"
VALIDATE_PHONE = "/api/messaging/sms/validate-phone/"
TEST_CONNECTION = "/api/messaging/sms/test-connection/"
MESSAGES = "/api/messaging/messages/"
DELIVERY_REPORTS = "/api/sms/delivery-reports/"


def status_url(message_id) -> str:
    return f"/api/messaging/sms/{message_id}/status/"


def fund(tenant, credits: int) -> None:
    credit_add(tenant_id=tenant.pk, credits=credits, reason="test")


def balance_of(tenant) -> int:
    balance = CreditBalance.objects.filter(tenant_id=tenant.pk).first()
    return balance.credits if balance else 0
