"""Payment provider registry: PAYMENT_PROVIDER names the one that takes mobile money; the
sandbox, when it is that one, takes cards too (Stripe takes them otherwise)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from billing.payments.providers.base import PaymentProvider
from billing.payments.providers.sandbox import SandboxPaymentProvider
from billing.payments.providers.zenopay import ZenoPayProvider

PROVIDERS: dict[str, type[PaymentProvider]] = {
    provider.name: provider for provider in (SandboxPaymentProvider, ZenoPayProvider)
}


def get_payment_provider(name: str) -> PaymentProvider:
    try:
        return PROVIDERS[name]()
    except KeyError as exc:
        raise ImproperlyConfigured(
            f"Unknown payment provider {name!r}; known: {sorted(PROVIDERS)}"
        ) from exc


def payment_provider_for(payment_method: str) -> PaymentProvider | None:
    """The provider that takes `payment_method` here, or None when none is set up for it."""
    provider = get_payment_provider(settings.PAYMENT_PROVIDER)
    return provider if payment_method in provider.methods else None
