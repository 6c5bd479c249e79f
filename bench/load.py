"""What the load benchmarks share: wrk run over a file of request lines with its figures read
back, and each part started from a clean slate (queued tasks purged, earlier writes
checkpointed so they are not flushed on the next part's clock). Imported after django.setup().
"""

import os
import re
import subprocess
import tempfile
from pathlib import Path

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def wrk_lines(command: list[str], url: str, lines: list[str], **env: str) -> dict[str, float]:
    """`command` (wrk, its options and its script) against `url`, the script reading `lines`
    from the file named in BODY_FILE, one wrk thread (WRK_THREADS) unless `env` says otherwise;
    returns `rps` and the figures the script's `done` printed ("name value" lines)."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as body_file:
        body_file.write("\n".join(lines) + "\n")
    try:
        out = subprocess.run(
            [*command, url],
            check=True,
            capture_output=True,
            text=True,
            env={**os.environ, "BODY_FILE": body_file.name, "WRK_THREADS": "1", **env},
        ).stdout
    finally:
        os.unlink(body_file.name)
    figures = {key: float(value) for key, value in re.findall(r"^(\w+) ([\d.]+)$", out, re.M)}
    figures["rps"] = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    return figures


def checkpoint() -> None:
    """Write back what came before, so it is not written back on the clock of the next part."""
    with connection.cursor() as cursor:
        cursor.execute("CHECKPOINT")


def settle(queues: str) -> None:
    """A clean slate: the Celery `queues` (comma-separated) purged, then a checkpoint."""
    subprocess.run(
        [str(ROOT / ".venv/bin/celery"), "-A", "mifumo", "purge", "-f", "-Q", queues],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    checkpoint()
