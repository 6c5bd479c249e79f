from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.core import checks


class SmsConfig(AppConfig):
    name = "sms"

    def ready(self) -> None:
        checks.register(sms_provider_check)
        # Every new tenant gets its sandbox number while the sandbox sends (sms.channels).
        from mifumo import events
        from sms.channels import tenant_created_received

        events.subscribe("tenant.created", tenant_created_received)


def sms_provider_check(
    app_configs: Sequence[AppConfig] | None = None, **kwargs: Any
) -> list[checks.CheckMessage]:
    """SMS_PROVIDER names a provider of the registry (`manage.py check`, run by `make test`)."""
    from django.conf import settings

    from sms.providers import PROVIDERS

    if settings.SMS_PROVIDER in PROVIDERS:
        return []
    return [
        checks.Error(
            f"SMS_PROVIDER={settings.SMS_PROVIDER!r} is no provider; known: {sorted(PROVIDERS)}",
            id="sms.E001",
        )
    ]
