"""Payment provider registry: PAYMENT_PROVIDER names the one that takes mobile money. Cards go
to Stripe when STRIPE_SECRET_KEY is set; otherwise only the sandbox, when it is that one, takes
them."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from billing.payments.providers.base import PaymentProvider
from billing.payments.providers.sandbox import SandboxPaymentProvider
from billing.payments.providers.stripe import StripeProvider
from billing.payments.providers.zenopay import ZenoPayProvider

PROVIDERS: dict[str, type[PaymentProvider]] = {
    provider.name: provider
    for provider in (SandboxPaymentProvider, ZenoPayProvider, StripeProvider)
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
    if payment_method in StripeProvider.methods and settings.STRIPE_SECRET_KEY:
        return StripeProvider()
    provider = get_payment_provider(settings.PAYMENT_PROVIDER)
    return provider if payment_method in provider.methods else None
