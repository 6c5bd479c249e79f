"""Celery tasks of the accounts app."""

from celery import shared_task

from accounts import services


@shared_task
def expired_credentials_prune() -> None:
    services.expired_credentials_prune()
