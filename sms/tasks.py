"""Celery tasks of the sms app (queue `sends`); thin wrappers around providers and services."""

import logging

from celery import shared_task

from sms.providers import get_provider
from sms.providers.base import OutboundSms

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
    (result,) = get_provider().send_batch([message])
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
