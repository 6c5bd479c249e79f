"""The environment every benchmark's Django runs with: DEBUG off, a fresh SECRET_KEY, and a
database and Redis of its own (BENCH_DATABASE_URL, BENCH_REDIS_URL), so a run never touches the
development data."""

import os
import secrets


def bench_environment() -> dict[str, str]:
    """The variables to set before django.setup(); a benchmark adds its own to them."""
    return {
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "DATABASE_URL": os.environ.get(
            "BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/mifumo_bench"
        ),
        "REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        "DJANGO_SETTINGS_MODULE": "mifumo.settings",
    }
