"""Requests to a provider's HTTP API, many in flight at once on kept connections: libcurl's
multi interface (pycurl), for a provider without a client of its own (Beem).

One thread drives all the requests of a call, and libcurl sends, waits and reads them in C. A
thread per request in flight running urllib3, as before, cost the send worker about eight times
the CPU: 474-490 against 60-62 us a request, 16 in flight (bench/provider_clients.py).
Connections stay open from one call to the next (libcurl's connection cache), `size` at most.
Network failures are results, never exceptions.
"""

import base64
import io
import os
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from http import HTTPStatus

import certifi
import pycurl


def basic_authorization(user: str, password: str) -> str:
    """The Authorization header's value for HTTP Basic auth."""
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str  # GET, or POST with `body`
    url: str
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HttpAnswer:
    status: int
    body: bytes

    @property
    def reason(self) -> str:
        try:
            return HTTPStatus(self.status).phrase
        except ValueError:
            return ""


@dataclass(frozen=True, slots=True)
class HttpFailure:
    """No answer. `timed_out`: the request may have reached the provider, which did not answer
    in time; otherwise it could not be reached (or the connection broke)."""

    timed_out: bool
    detail: str


class HttpPool:
    """Up to `size` requests in flight, each within `timeout` seconds, every one carrying
    `headers`. Safe to share between threads (one call runs at a time) and across a fork
    (a process makes its own handles on its first call)."""

    def __init__(self, *, size: int, timeout: float, headers: Mapping[str, str]) -> None:
        self._size = size
        self._timeout_ms = max(1, round(timeout * 1000))
        # "Expect:" keeps libcurl from waiting for a 100 Continue before a large body.
        self._headers = [f"{name}: {value}" for name, value in headers.items()] + ["Expect:"]
        self._lock = threading.Lock()
        self._pid = 0
        self._multi: pycurl.CurlMulti
        self._idle: list[pycurl.Curl] = []

    def run(self, requests: Sequence[HttpRequest]) -> list[HttpAnswer | HttpFailure]:
        """An answer or a failure for each request, in the requests' order."""
        with self._lock:
            if self._pid != os.getpid():
                self._open()
            return self._run(requests)

    def _open(self) -> None:
        self._multi = pycurl.CurlMulti()
        self._multi.setopt(pycurl.M_MAXCONNECTS, self._size)
        self._idle = [self._handle() for _ in range(self._size)]
        self._pid = os.getpid()

    def _handle(self) -> pycurl.Curl:
        handle = pycurl.Curl()
        handle.setopt(pycurl.HTTPHEADER, self._headers)
        handle.setopt(pycurl.TIMEOUT_MS, self._timeout_ms)
        handle.setopt(pycurl.NOSIGNAL, 1)  # timeouts without signals: safe beside threads
        handle.setopt(pycurl.PROXY, "")  # straight to the provider, whatever the environment
        handle.setopt(pycurl.CAINFO, certifi.where())  # the same authorities as `requests`
        return handle

    def _run(self, requests: Sequence[HttpRequest]) -> list[HttpAnswer | HttpFailure]:
        results: list[HttpAnswer | HttpFailure | None] = [None] * len(requests)
        pending = iter(enumerate(requests))
        active: dict[pycurl.Curl, tuple[int, io.BytesIO]] = {}
        try:
            while True:
                while self._idle and (item := next(pending, None)) is not None:
                    handle = self._idle.pop()
                    active[handle] = (item[0], self._start(handle, item[1]))
                if not active:
                    return results  # type: ignore[return-value]  # every position is filled
                self._multi.perform()
                if not self._collect(active, results):
                    self._wait()
        finally:  # interrupted (a task's time limit): the handles stay the pool's, idle
            for handle in active:
                self._finish(handle)

    def _collect(
        self,
        active: dict[pycurl.Curl, tuple[int, io.BytesIO]],
        results: list[HttpAnswer | HttpFailure | None],
    ) -> int:
        """Put what finished in `results` and its handle back with the idle; how many."""
        finished = 0
        while True:
            queued, done, failed = self._multi.info_read()
            for handle in done:
                position, body = active.pop(handle)
                status = handle.getinfo(pycurl.RESPONSE_CODE)
                results[position] = HttpAnswer(status, body.getvalue())
                self._finish(handle)
            for handle, code, message in failed:
                position, _ = active.pop(handle)
                results[position] = HttpFailure(code == pycurl.E_OPERATION_TIMEDOUT, message)
                self._finish(handle)
            finished += len(done) + len(failed)
            if not queued:
                return finished

    def _start(self, handle: pycurl.Curl, request: HttpRequest) -> io.BytesIO:
        body = io.BytesIO()
        handle.setopt(pycurl.URL, request.url)
        if request.method == "POST":
            handle.setopt(pycurl.POSTFIELDS, request.body)
        else:
            handle.setopt(pycurl.HTTPGET, 1)
        handle.setopt(pycurl.WRITEDATA, body)
        self._multi.add_handle(handle)
        return body

    def _finish(self, handle: pycurl.Curl) -> None:
        self._multi.remove_handle(handle)
        self._idle.append(handle)

    def _wait(self) -> None:
        """Until a connection has something to read or write, or libcurl's next timeout."""
        wait_ms = self._multi.timeout()  # -1: libcurl has no timeout due
        wait = 1.0 if wait_ms < 0 else min(wait_ms / 1000, 1.0)
        if wait > 0 and self._multi.select(wait) <= 0:
            time.sleep(0.001)  # nothing to watch yet (a connection still resolving)
