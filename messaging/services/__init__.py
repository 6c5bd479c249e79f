"""Every write to the messaging app, one module per thing it owns."""
