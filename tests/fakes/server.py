"""What every fake provider shares: a threaded HTTP server on 127.0.0.1, injected latency and
faults, the record of accepted messages, and callbacks POSTed from background threads.

A fake subclasses FakeServer and implements `handle(request) -> (status, JSON body)` and
`error_body(status, code)`. Before accepting a send it asks `send_fault()` whether an injected
fault answers instead; it records what it accepted with `record_accepted()` and pushes each
delivery report with `queue_callback()`. CallbackSink is a server that answers 200 to anything,
for receiving those callbacks in tests and benchmarks.
"""

import argparse
import contextlib
import json
import logging
import random
import socket
import sys
import threading
import time
from base64 import b64decode
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from queue import Queue
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

import requests
from requests.structures import CaseInsensitiveDict

logger = logging.getLogger(__name__)

Answer = tuple[int, object]  # HTTP status and a JSON-serialisable body
_HANG = "hang"


class AcceptedSms(NamedTuple):
    """One recipient of one accepted send. `reference` is what the provider echoes back as
    ours (Beem's recipient_id); Twilio echoes nothing, so it is empty there."""

    reference: str
    to: str
    text: str
    sender: str
    provider_message_id: str


@dataclass(frozen=True)
class FakeRequest:
    method: str
    target: str  # path and query string, as the client sent them
    headers: CaseInsensitiveDict[str]
    body: bytes

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return dict(parse_qsl(urlsplit(self.target).query))

    def json(self) -> object:
        return json.loads(self.body or b"null")

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode(), keep_blank_values=True))

    def basic_auth(self) -> tuple[str, str] | None:
        scheme, _, encoded = (self.headers.get("Authorization") or "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            user, _, password = b64decode(encoded).decode().partition(":")
        except ValueError:
            return None
        return user, password


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so clients reuse their connections
    # One buffered write per response, sent at once: headers and body written apart meet the
    # client's delayed ACK and cost 40 ms a request.
    wbufsize = -1
    disable_nagle_algorithm = True
    max_headers = 100

    def parse_request(self) -> bool:
        """The request line and headers of HTTP/1.x, read line by line. The standard library's
        own parse goes through the email package: half of the fake's CPU in a campaign
        benchmark, where the fake shares the machine with what it measures."""
        self.command = None
        self.close_connection = True
        self.requestline = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        words = self.requestline.split()
        if len(words) != 3 or words[2] not in ("HTTP/1.0", "HTTP/1.1"):
            self.send_error(HTTPStatus.BAD_REQUEST, f"Bad request line ({self.requestline!r})")
            return False
        self.command, self.path, self.request_version = words
        headers: CaseInsensitiveDict[str] = CaseInsensitiveDict()
        while (line := self.rfile.readline(65537)) not in (b"\r\n", b"\n", b""):
            name, colon, value = str(line, "iso-8859-1").partition(":")
            if not colon or len(line) > 65536 or len(headers) >= self.max_headers:
                self.send_error(HTTPStatus.BAD_REQUEST, "Malformed or too many headers")
                return False
            headers[name.strip()] = value.strip()
        self.headers = headers
        connection = headers.get("Connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive"
        )
        return True

    def do_GET(self) -> None:
        self._answer()

    def do_POST(self) -> None:
        self._answer()

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        request = FakeRequest(self.command, self.path, self.headers, self.rfile.read(length))
        status, body = self.server.fake.dispatch(request)
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args) -> None:
        """Quiet: a benchmark makes thousands of requests."""


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # bursts of new connections from parallel senders

    def __init__(self, address: tuple[str, int], fake: "FakeServer") -> None:
        self.fake = fake
        self.connections: set[socket.socket] = set()
        self.connections_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request, client_address) -> None:
        with self.connections_lock:
            self.connections.add(request)
            self.fake.connections_opened += 1
        super().process_request(request, client_address)

    def shutdown_request(self, request) -> None:
        with self.connections_lock:
            self.connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """End kept-alive connections, whose threads would otherwise go on serving."""
        with self.connections_lock:
            connections = list(self.connections)
        for connection in connections:
            with contextlib.suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request, client_address) -> None:
        # A client that timed out or a stopped server leaves a dead socket; that is expected.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


class FakeServer:
    """A fake provider's server. `latency`, `error_rate`, `callback_url` and `callback_delay`
    may be changed while it runs; faults apply to send requests only. `accepted` holds every
    accepted message; `requests` the newest `keep_requests` requests (or up to twice that)."""

    def __init__(
        self,
        *,
        port: int = 0,
        latency: float = 0.0,
        error_rate: float = 0.0,
        seed: int = 0,
        hang_seconds: float = 30.0,
        callback_url: str | None = None,
        callback_delay: float = 0.0,
        callback_workers: int = 4,
        callback_timeout: float = 5.0,
        keep_requests: int = 10_000,
    ) -> None:
        self.port = port
        self.latency = latency
        self.error_rate = error_rate
        self.hang_seconds = hang_seconds
        self.callback_url = callback_url
        self.callback_delay = callback_delay
        self.callback_workers = callback_workers
        self.callback_timeout = callback_timeout
        self.keep_requests = keep_requests
        self.accepted: list[AcceptedSms] = []
        self.requests: list[FakeRequest] = []
        self.callbacks_sent = 0
        self.callback_failures = 0
        # Requests being answered at once, and the most there were: proof of parallel sends.
        self.in_flight = 0
        self.max_in_flight = 0
        # Connections clients opened: fewer than requests when clients keep theirs.
        self.connections_opened = 0
        self._lock = threading.Lock()
        self._callbacks_idle = threading.Condition(self._lock)
        self._callbacks_pending = 0
        self._callbacks: Queue = Queue()
        self._faults: deque[tuple[int | str, int | None]] = deque()
        self._random = random.Random(seed)  # noqa: S311 - picks failures to inject, not secrets
        self._stopped = threading.Event()
        self._server: _Server | None = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.stop()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    @property
    def accepted_count(self) -> int:
        return len(self.accepted)

    def start(self):
        self._stopped.clear()
        self._server = _Server(("127.0.0.1", self.port), self)
        name = type(self).__name__
        # A short poll interval keeps stop() fast.
        serve = self._server.serve_forever
        threading.Thread(target=serve, args=(0.05,), daemon=True, name=name).start()
        for _ in range(self.callback_workers):
            threading.Thread(target=self._post_callbacks, daemon=True, name=f"{name}-cb").start()
        return self

    def stop(self) -> None:
        self._stopped.set()  # releases requests hanging in timeout_next()
        self._server.shutdown()
        self._server.server_close()
        self._server.close_connections()
        for _ in range(self.callback_workers):
            self._callbacks.put(None)

    def fail_next(self, n: int = 1, *, status: int = 500, code: int | None = None) -> None:
        """Answer the next `n` send requests with HTTP `status` and the provider's error body,
        carrying the provider's error `code` when given."""
        with self._lock:
            self._faults.extend([(status, code)] * n)

    def timeout_next(self, n: int = 1) -> None:
        """Hold the next `n` send requests for `hang_seconds` (or until stop) without accepting."""
        with self._lock:
            self._faults.extend([(_HANG, None)] * n)

    def wait_for_callbacks(self, timeout: float = 5.0) -> bool:
        """True once every queued callback has been attempted, False if `timeout` passed first."""
        with self._callbacks_idle:
            return self._callbacks_idle.wait_for(lambda: self._callbacks_pending == 0, timeout)

    def dispatch(self, request: FakeRequest) -> Answer:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            return self._dispatch(request)
        finally:
            with self._lock:
                self.in_flight -= 1

    def _dispatch(self, request: FakeRequest) -> Answer:
        if self.latency > 0:
            time.sleep(self.latency)
        with self._lock:
            self.requests.append(request)
            # Only the newest are kept, so a long benchmark does not hold every request body.
            if len(self.requests) > 2 * self.keep_requests:
                del self.requests[: -self.keep_requests]
        try:
            return self.handle(request)
        except Exception:
            logger.exception("%s failed on %s", type(self).__name__, request.target)
            return 500, self.error_body(500, None)

    def handle(self, request: FakeRequest) -> Answer:
        raise NotImplementedError

    def error_body(self, status: int, code: int | None) -> object:
        """The provider's error body for HTTP `status`, naming its error `code` when given."""
        raise NotImplementedError

    def send_fault(self) -> Answer | None:
        """The answer an injected fault gives this send request, or None to handle it."""
        with self._lock:
            fault = self._faults.popleft() if self._faults else None
            if fault is None and self.error_rate and self._random.random() < self.error_rate:
                fault = (500, None)
        if fault is None:
            return None
        status, code = fault
        if status == _HANG:
            self._stopped.wait(self.hang_seconds)
            status = 504
        return status, self.error_body(status, code)

    def record_accepted(self, messages: Iterable[AcceptedSms]) -> None:
        with self._lock:
            self.accepted.extend(messages)

    def queue_callback(self, build: Callable[..., tuple[str, object, dict]], *args) -> None:
        """POST a callback after `callback_delay`; `build(*args)` runs in a callback thread and
        gives the URL, the body (bytes, or a dict to send form-encoded) and the headers."""
        with self._lock:
            self._callbacks_pending += 1
        self._callbacks.put((time.monotonic() + self.callback_delay, build, args))

    def _post_callbacks(self) -> None:
        session = requests.Session()
        session.trust_env = False  # callbacks go to local servers, never through a proxy
        while (job := self._callbacks.get()) is not None:
            due, build, args = job
            stopped = self._stopped.wait(max(0.0, due - time.monotonic()))
            delivered = not stopped and self._post_callback(session, build, args)
            with self._callbacks_idle:
                self._callbacks_pending -= 1
                if delivered:
                    self.callbacks_sent += 1
                elif not stopped:
                    self.callback_failures += 1
                self._callbacks_idle.notify_all()

    def _post_callback(self, session: requests.Session, build: Callable, args: tuple) -> bool:
        try:
            url, body, headers = build(*args)
            return session.post(url, data=body, headers=headers, timeout=self.callback_timeout).ok
        except Exception as exc:
            # Once is enough to see why; a benchmark may fail thousands the same way.
            log = logger.debug if self.callback_failures else logger.warning
            log("%s could not post a callback: %s", type(self).__name__, exc)
            return False


class CallbackSink(FakeServer):
    """Answers 200 to every request and keeps it in `requests`: a receiver for callbacks."""

    def handle(self, request: FakeRequest) -> Answer:
        return 200, {"received": True}

    def error_body(self, status: int, code: int | None) -> object:
        return {"error": status}


def command_line(description: str) -> argparse.ArgumentParser:
    """The options every fake takes on the command line; a fake adds its credentials."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port")
    parser.add_argument("--callback-url", help="where delivery reports are POSTed")
    parser.add_argument("--callback-delay", type=float, default=0.0, help="seconds")
    parser.add_argument("--latency", type=float, default=0.0, help="seconds added per request")
    parser.add_argument("--error-rate", type=float, default=0.0, help="share of sends failing")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def serve_until_interrupted(fake: FakeServer) -> None:
    with fake:
        print(f"{type(fake).__name__} listening on {fake.url} (Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            threading.Event().wait()
