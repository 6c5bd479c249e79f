"""`make run`'s processes (scripts/run.sh): each one killed is started again while the others
go on serving, and gunicorn's own refusals answer in the JSON envelope."""

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import requests
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        found[int(entry.name)] = (int(stat.rsplit(")", 1)[1].split()[1]), command)
    return found


def supervised(root: int) -> dict[str, int]:
    """The pids of web (gunicorn's master), worker (Celery's main process) and beat under
    run.sh's process `root`: each the direct child of a supervising shell."""
    table = processes()
    tree, frontier = set(), {root}
    while frontier:
        tree |= frontier
        frontier = {pid for pid, (parent, _) in table.items() if parent in frontier} - tree
    kinds = {
        "web": "gunicorn",
        "worker": "celery -A mifumo worker",
        "beat": "celery -A mifumo beat",
    }
    found = {}
    for pid in tree:
        parent, command = table[pid]
        for kind, marker in kinds.items():
            if marker in command and "bash" in table.get(parent, (0, ""))[1]:
                found[kind] = pid
    return found


def wait_until(condition, timeout: float = 60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(0.2)
    raise AssertionError("timed out")


def healthy(base: str) -> bool:
    try:
        return requests.get(f"{base}/api/health/", timeout=2).status_code == 200
    except requests.RequestException:
        return False


@pytest.fixture
def stack(transactional_db, tmp_path):
    """scripts/run.sh against the test database, on a port of its own."""
    database = connection.settings_dict
    port = free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "mifumo.settings",
        "DEBUG": "false",
        "DATABASE_URL": f"postgres://{database['USER']}@{database['HOST']}:{database['PORT']}/"
        f"{database['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "PORT": str(port),
        "WEB_WORKERS": "1",
        "CELERY_CONCURRENCY": "1",
        "RUN_DIR": str(tmp_path),
    }
    run = subprocess.Popen(
        ["/bin/bash", "scripts/run.sh"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: healthy(base) and len(supervised(run.pid)) == 3)
        yield run.pid, base, port
    finally:
        os.killpg(run.pid, signal.SIGTERM)
        try:
            run.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(run.pid, signal.SIGKILL)
            run.wait()


@pytest.mark.parametrize("victim", ["worker", "web", "beat"])
def test_a_killed_process_comes_back_and_the_others_keep_serving(stack, victim):
    root, base, _ = stack
    before = supervised(root)

    os.kill(before[victim], signal.SIGKILL)

    after = wait_until(
        lambda: (now := supervised(root)).get(victim) not in (None, before[victim]) and now,
        timeout=30,
    )
    for other in set(before) - {victim}:
        assert after[other] == before[other], f"{other} went down with {victim}"
    wait_until(lambda: healthy(base), timeout=30)


def raw_request(port: int, request: bytes) -> tuple[int, dict]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as client:
        client.sendall(request)
        answer = b""
        while chunk := client.recv(65536):
            answer += chunk
    head, _, body = answer.partition(b"\r\n\r\n")
    assert b"Content-Type: application/json" in head
    return int(head.split()[1]), json.loads(body)


def test_gunicorns_own_refusals_are_json_envelopes(stack):
    _, _, port = stack
    long_line = b"GET /api/health/?q=" + b"a" * 10_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    big_header = b"GET /api/health/ HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 20_000 + b"\r\n\r\n"

    status, body = raw_request(port, long_line)
    assert (status, body["error_code"], body["success"]) == (414, "URI_TOO_LONG", False)
    status, body = raw_request(port, big_header)
    assert (status, body["error_code"]) == (431, "HEADERS_TOO_LARGE")
