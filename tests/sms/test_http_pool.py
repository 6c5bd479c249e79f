"""The providers' pooled HTTP client (sms.providers.http_pool) against a fake server: answers
in the requests' order, kept connections, and a process forked after use making its own."""

import json
import os
import signal

import pytest

from sms.providers.http_pool import (
    HttpAnswer,
    HttpFailure,
    HttpPool,
    HttpRequest,
    basic_authorization,
)
from tests.fakes.beem import API_KEY, SECRET_KEY, FakeBeem
from tests.fakes.server import CallbackSink


@pytest.fixture
def sink():
    with CallbackSink() as server:
        yield server


def test_every_request_gets_its_own_answer_in_order_on_kept_connections():
    auth = {"Authorization": basic_authorization(API_KEY, SECRET_KEY)}
    pool = HttpPool(size=4, timeout=5, headers=auth)

    def send(recipients: int) -> HttpRequest:  # Beem answers how many recipients it took
        body = {"source_addr": "Taarifa", "encoding": 0, "message": "Habari"}
        body["recipients"] = [
            {"recipient_id": f"r{n}", "dest_addr": "255712"} for n in range(recipients)
        ]
        return HttpRequest("POST", beem.send_url, json.dumps(body).encode())

    with FakeBeem(latency=0.01) as beem:
        answers = pool.run([send(n) for n in range(1, 21)])
        (balance,) = pool.run([HttpRequest("GET", beem.balance_url)])

    assert [json.loads(a.body)["valid"] for a in answers] == list(range(1, 21))
    assert balance.status == 200 and json.loads(balance.body)["data"]["credit_balance"] > 0
    assert beem.max_in_flight == 4
    assert beem.connections_opened <= 4  # the second call reused the first one's


def test_an_unreachable_server_is_a_failure_not_an_exception():
    with CallbackSink() as gone:
        url = gone.url
    (failure,) = HttpPool(size=1, timeout=1, headers={}).run([HttpRequest("GET", url)])

    assert isinstance(failure, HttpFailure)
    assert not failure.timed_out


def test_a_process_forked_after_use_sends_on_its_own_handles(sink):
    pool = HttpPool(size=2, timeout=5, headers={})
    pool.run([HttpRequest("GET", f"{sink.url}/parent")])

    child = os.fork()
    if child == 0:  # pragma: no cover - the child's outcome is its exit status
        (answer,) = pool.run([HttpRequest("GET", f"{sink.url}/child")])
        os._exit(0 if isinstance(answer, HttpAnswer) and answer.status == 200 else 1)
    _, status = os.waitpid(child, 0)

    assert os.waitstatus_to_exitcode(status) == 0
    assert [r.target for r in sink.requests] == ["/parent", "/child"]


def test_a_run_cut_short_leaves_every_connection_to_the_next_one():
    class TimeLimitExceeded(Exception):  # what Celery raises at a task's soft time limit
        pass

    def time_limit(*_):
        raise TimeLimitExceeded

    auth = {"Authorization": basic_authorization(API_KEY, SECRET_KEY)}
    pool = HttpPool(size=2, timeout=5, headers=auth)
    previous = signal.signal(signal.SIGALRM, time_limit)
    try:
        with FakeBeem(latency=0.5) as beem:
            balance = HttpRequest("GET", beem.balance_url)
            signal.setitimer(signal.ITIMER_REAL, 0.1)
            with pytest.raises(TimeLimitExceeded):
                pool.run([balance] * 4)
            beem.latency = 0
            answers = pool.run([balance] * 4)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)

    assert [a.status for a in answers] == [200] * 4
