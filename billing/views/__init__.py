"""The billing API (/api/billing/): credits and their payments (credits), plans and
subscriptions (subscriptions), and what a tenant's account looks like (account)."""
