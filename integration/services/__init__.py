"""Every write of the integration app, one module per thing it owns."""
