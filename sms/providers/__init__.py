"""Provider registry: settings.SMS_PROVIDER names the default."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sms.providers.base import SmsProvider
from sms.providers.beem import BeemProvider
from sms.providers.sandbox import SandboxProvider
from sms.providers.twilio import TwilioProvider

PROVIDERS: dict[str, type[SmsProvider]] = {
    provider.name: provider for provider in (SandboxProvider, BeemProvider, TwilioProvider)
}


def get_provider(name: str | None = None) -> SmsProvider:
    name = name or settings.SMS_PROVIDER
    try:
        return PROVIDERS[name]()
    except KeyError as exc:
        raise ImproperlyConfigured(
            f"Unknown SMS provider {name!r}; known: {sorted(PROVIDERS)}"
        ) from exc
