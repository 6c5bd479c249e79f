"""Settings come from the environment; production refuses to start without its secret."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _load_settings(**env) -> subprocess.CompletedProcess:
    """Import the settings in a fresh interpreter; variables given here win over any .env."""
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    return subprocess.run(
        [sys.executable, "-c", "import mifumo.settings as s; print(s.DEBUG, len(s.SECRET_KEY))"],
        cwd=ROOT,
        env={**environment, "PYTHONPATH": str(ROOT), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_production_without_a_secret_key_refuses_to_start():
    result = _load_settings(DEBUG="false", SECRET_KEY="")

    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_production_with_a_secret_key_and_development_without_one_start():
    production = _load_settings(DEBUG="false", SECRET_KEY="x" * 50)
    development = _load_settings(DEBUG="true")

    assert production.stdout.split() == ["False", "50"]
    assert development.returncode == 0
    assert development.stdout.split()[0] == "True"
