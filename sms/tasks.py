"""Celery tasks of the sms app (queue `transactional`): the platform's own SMS, such as verification
codes, which belong to no tenant and have no Message row."""

import logging

from celery import shared_task

from mifumo.tenancy import current_schema_name
from sms.providers import get_provider
from sms.providers.base import OutboundSms, SendContext

logger = logging.getLogger(__name__)


class TransientSendError(Exception):
    pass


@shared_task(
    autoretry_for=(TransientSendError,),
    retry_backoff=5,
    retry_backoff_max=60,
    max_retries=3,
)
def platform_sms_deliver(*, reference: str, to: str, text: str, sender: str) -> None:
    message = OutboundSms(reference=reference, to=to, text=text, sender=sender)
    # No message row to report on: a provider's scheduled reports are dropped.
    (result,) = get_provider().send_batch([message], SendContext(current_schema_name()))
    if result.accepted:
        return
    if result.transient:
        raise TransientSendError(result.error_message)
    logger.error(
        "Platform SMS %s to %s refused: %s %s",
        reference,
        to,
        result.error_code,
        result.error_message,
    )
