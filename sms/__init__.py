"""SMS channel providers (sandbox, Beem, Twilio, WhatsApp Cloud), sender IDs, segment counting
and the outbound delivery pipeline."""
