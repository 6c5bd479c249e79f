"""Contacts, segments, templates, conversations, messages and campaigns (tenant schemas)."""
