"""Thin DRF views of the sms app, one module per resource."""
