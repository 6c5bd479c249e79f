from django.apps import AppConfig


class IntegrationConfig(AppConfig):
    name = "integration"

    def ready(self) -> None:
        # Customer webhooks follow messaging's events; nothing below imports this app.
        from integration.services.webhooks import events

        events.subscribe()
