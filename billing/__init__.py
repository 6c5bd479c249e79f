"""Plans, SMS packages, purchases and the per-tenant credit ledger (public schema)."""
