"""Provider registry: settings.SMS_PROVIDER names the default. `get_provider` builds one on the
platform's account (the settings); `provider_for_account` on a tenant's own (sms.channels)."""

from collections.abc import Mapping

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from sms.providers.base import SmsProvider
from sms.providers.beem import BeemProvider
from sms.providers.sandbox import SandboxProvider
from sms.providers.twilio import TwilioProvider

PROVIDERS: dict[str, type[SmsProvider]] = {
    provider.name: provider for provider in (SandboxProvider, BeemProvider, TwilioProvider)
}


def _provider_class(name: str) -> type[SmsProvider]:
    try:
        return PROVIDERS[name]
    except KeyError as exc:
        raise ImproperlyConfigured(
            f"Unknown SMS provider {name!r}; known: {sorted(PROVIDERS)}"
        ) from exc


def get_provider(name: str | None = None) -> SmsProvider:
    return _provider_class(name or settings.SMS_PROVIDER)()


def provider_for_account(name: str, credentials: Mapping[str, str]) -> SmsProvider:
    """Provider `name` working with the account `credentials` name (decrypted, by the names
    of its required_credentials and optional_credentials)."""
    return _provider_class(name).with_credentials(credentials)
