"""API keys (public schema), the /api/integration/v1/ API and signed outbound webhooks."""
