"""Thin DRF views of the messaging app, one module per resource."""
