"""Inbound provider callbacks: delivery reports, inbound messages, payment events."""
