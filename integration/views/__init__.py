"""The integration app's routes: the settings API (JWT), the integration API (API key) and
the developer pages."""
