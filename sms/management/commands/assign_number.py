from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from mifumo.errors import ApplicationError
from sms import channels
from sms.models import ChannelAddress
from sms.providers import PROVIDERS
from tenants.models import Tenant


class Command(BaseCommand):
    help = (
        "Attach a platform-owned number (or shortcode, or sender ID) of the platform's provider "
        "account to a tenant, so that messages to it reach the tenant; --release takes it back."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--tenant", required=True, help="The tenant's subdomain")
        parser.add_argument("--provider", required=True, choices=sorted(PROVIDERS))
        parser.add_argument(
            "--number", required=True, help="+E.164 (local spellings: the tenant's country)"
        )
        parser.add_argument("--release", action="store_true", help="Take the number back")

    def handle(
        self,
        *args: Any,
        tenant: str,
        provider: str,
        number: str,
        release: bool = False,
        **options: Any,
    ) -> None:
        found = Tenant.objects.filter(subdomain=tenant.strip().lower()).first()
        if found is None:
            raise CommandError(f"No tenant has the subdomain '{tenant}'.")
        try:
            if release:
                self._release(found, provider, number)
                return
            address = channels.channel_address_assign(
                tenant=found, provider=provider, address=number
            )
        except ApplicationError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            self.style.SUCCESS(
                f"{address.address} ({provider}) now reaches {found}, on its channel "
                f"'{address.channel.name}'."
            )
        )

    def _release(self, tenant: Tenant, provider: str, number: str) -> None:
        try:
            _, normalised = channels.channel_address_normalise(number, region=tenant.country)
        except channels.InvalidAddress as exc:
            raise CommandError(str(exc)) from exc
        address = (
            ChannelAddress.objects.select_related("channel")
            .filter(tenant=tenant, provider=provider, address=normalised)
            .first()
        )
        if address is None:
            raise CommandError(f"{tenant} has no {provider} address {normalised}.")
        channels.channel_address_release(address=address)
        self.stdout.write(self.style.SUCCESS(f"{normalised} ({provider}) released from {tenant}."))
