"""Settings come from the environment; nothing starts without its own random secret."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
_PRINT = "import mifumo.settings as s; print(s.DEBUG, len(s.SECRET_KEY), s.JWT_SIGNING_KEY)"


def _load_settings(**env) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter. Variables given here win over any .env (an
    empty one hides the file's value), as the environment does in production."""
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", _PRINT],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT), "JWT_SIGNING_KEY": "", **env},
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("debug", ["true", "false"])
@pytest.mark.parametrize("secret_key", ["", "short-and-guessable"])
def test_no_start_without_a_long_secret_key_debug_or_not(debug, secret_key):
    result = _load_settings(DEBUG=debug, SECRET_KEY=secret_key)

    assert result.returncode != 0
    assert "SECRET_KEY must be set to a random value" in result.stderr


def test_tokens_are_signed_with_a_key_of_their_own():
    derived = _load_settings(DEBUG="false", SECRET_KEY="x" * 50)
    other_secret = _load_settings(DEBUG="false", SECRET_KEY="y" * 50)
    own = _load_settings(DEBUG="true", SECRET_KEY="x" * 50, JWT_SIGNING_KEY="j" * 40)

    debug, length, jwt_key = derived.stdout.split()
    assert (debug, length) == ("False", "50")
    assert jwt_key != "x" * 50 and len(jwt_key) == 64
    assert other_secret.stdout.split()[2] != jwt_key
    assert own.stdout.split() == ["True", "50", "j" * 40]


def test_the_links_follow_port_unless_set():
    printed = "import mifumo.settings as s; print(s.PUBLIC_BASE_URL, s.FRONTEND_URL)"
    environment = {**os.environ, "PYTHONPATH": str(ROOT), "PORT": "8123"}
    unset = {**environment, "PUBLIC_BASE_URL": "", "FRONTEND_URL": ""}
    chosen = {**environment, "PUBLIC_BASE_URL": "https://api.example.com", "FRONTEND_URL": ""}

    def run(env):
        command = [sys.executable, "-c", printed]
        return subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True).stdout

    assert run(unset).split() == ["http://127.0.0.1:8123"] * 2
    assert run(chosen).split() == ["https://api.example.com"] * 2
