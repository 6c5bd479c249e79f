"""Fake SMS provider APIs on real sockets (server.py is their shared machinery), used by the
test suite and the benchmarks, and runnable by hand: python -m tests.fakes.beem / .twilio."""
