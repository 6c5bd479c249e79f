"""Paying for credits: the providers (leaves, in `providers`) and the services that move a
PaymentTransaction through its states and write the credits it buys (`services`)."""
