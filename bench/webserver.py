"""Starting the web server the benchmarks load: gunicorn on a local port, ready when healthy."""

import subprocess
import sys
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent


def gunicorn_start(
    *, port: int, env: dict, workers: int = 2, threads: int = 1, stderr: int | None = None
) -> subprocess.Popen:
    """gunicorn serving mifumo on 127.0.0.1:`port`, returned once /api/health/ answers; its
    log goes to `stderr` (a file descriptor; the benchmark's own by default)."""
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-c",  # as `make run` starts it (scripts/run.sh)
            str(ROOT / "mifumo/gunicorn.conf.py"),
            "mifumo.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        stderr=stderr,
    )
    for _ in range(200):
        try:
            if requests.get(f"http://127.0.0.1:{port}/api/health/", timeout=1).ok:
                return server
        except requests.RequestException:  # not listening yet, or its workers still booting
            time.sleep(0.1)
    server.terminate()
    sys.exit("gunicorn did not start")
