from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # A new tenant is on the default plan: tenants publishes, billing sets its user limit.
        from billing.plans import tenant_created_received
        from mifumo import events

        events.subscribe("tenant.created", tenant_created_received)
