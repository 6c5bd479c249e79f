"""A fake Beem Africa SMS API on a real socket, for the test suite, benchmarks and manual runs:

    python -m tests.fakes.beem --port 9001 [--callback-url URL] [--latency S] [--error-rate R]

POST /v1/send and GET /public/v1/vendors/balance, with HTTP Basic auth `api_key:secret_key`.
`send_requests` counts the send requests received (whatever their answer); `latency` (seconds,
FakeServer's) delays each answer in its own thread, so concurrent requests wait side by side.
A send answers code 100 with a request_id, code 104 (HTTP 400) for a malformed body and code
107 (HTTP 401) for wrong credentials; errors come as {"data": {"code": .., "message": ..}}, and
an injected fault at HTTP 200 as {"successful": false, "code": .., "message": ..}.

With a callback_url, each accepted recipient gets its own delivery report POSTed there as JSON,
the way Beem pushes them (the format sms.providers.beem reads):

    {"request_id": 1, "recipient_id": "<as sent>", "dest_addr": "255712345678",
     "status": "DELIVERED", "timestamp": "2026-11-23T10:00:00Z"}
"""

import itertools
import json
import secrets
from datetime import UTC, datetime

from tests.fakes.server import (
    AcceptedSms,
    Answer,
    FakeRequest,
    FakeServer,
    command_line,
    serve_until_interrupted,
)

SEND_PATH = "/v1/send"
BALANCE_PATH = "/public/v1/vendors/balance"
API_KEY = "test-api-key"
SECRET_KEY = "test-secret-key"
MESSAGES = {
    100: "Message Submitted Successfully",
    101: "Invalid phone number",
    102: "Insufficient balance",
    103: "Timeout",
    104: "Missing parameters",
    105: "Account not found",
    106: "No route for the destination",
    107: "Invalid api_key or secret_key",
    108: "Invalid authentication parameters",
}


class FakeBeem(FakeServer):
    def __init__(
        self,
        *,
        api_key: str = API_KEY,
        secret_key: str = SECRET_KEY,
        credit_balance: float = 1000.0,
        callback_status: str = "DELIVERED",
        **options,
    ) -> None:
        super().__init__(**options)
        self.api_key = api_key
        self.secret_key = secret_key
        self.credit_balance = credit_balance
        self.callback_status = callback_status
        self.send_requests = 0
        # Beem's request ids are unique across its customers; a fake started afresh must not
        # hand out ids an earlier fake did (their callback routes would collide).
        self._request_ids = itertools.count(secrets.randbelow(10**9) * 1000 + 1)

    @property
    def send_url(self) -> str:
        return self.url + SEND_PATH

    @property
    def balance_url(self) -> str:
        return self.url + BALANCE_PATH

    def handle(self, request: FakeRequest) -> Answer:
        route = (request.method, request.path)
        if route not in {("POST", SEND_PATH), ("GET", BALANCE_PATH)}:
            return 404, {"data": {"message": f"No route {request.method} {request.path}"}}
        if route == ("POST", SEND_PATH):
            with self._lock:
                self.send_requests += 1
        if request.basic_auth() != (self.api_key, self.secret_key):
            return 401, self.error_body(401, 107)
        if route == ("GET", BALANCE_PATH):
            return 200, {"data": {"credit_balance": self.credit_balance}}
        return self.send_fault() or self._send(request)

    def _send(self, request: FakeRequest) -> Answer:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not _is_send_body(body):
            return 400, self.error_body(400, 104)
        request_id = next(self._request_ids)
        text, sender, recipients = body["message"], body["source_addr"], body["recipients"]
        provider_id = str(request_id)
        self.record_accepted(
            AcceptedSms(r["recipient_id"], r["dest_addr"], text, sender, provider_id)
            for r in recipients
        )
        if self.callback_url:
            for recipient in recipients:
                self.queue_callback(
                    _delivery_report, self.callback_url, self.callback_status, request_id, recipient
                )
        return 200, {
            "successful": True,
            "request_id": request_id,
            "code": 100,
            "message": MESSAGES[100],
            "valid": len(recipients),
            "invalid": 0,
            "duplicates": 0,
        }

    def error_body(self, status: int, code: int | None) -> object:
        message = MESSAGES.get(code, "Internal server error" if status >= 500 else "Error")
        if status == 200:
            return {"successful": False, "request_id": None, "code": code, "message": message}
        return {"data": {"code": code, "message": message}}


def _is_send_body(body: object) -> bool:
    if not isinstance(body, dict):
        return False
    recipients = body.get("recipients")
    return (
        bool(body.get("source_addr"))
        and bool(body.get("message"))
        and body.get("encoding") in (0, 8)
        and isinstance(recipients, list)
        and bool(recipients)
        and all(
            isinstance(r, dict) and r.get("recipient_id") and r.get("dest_addr") for r in recipients
        )
    )


def _delivery_report(url: str, status: str, request_id: int, recipient: dict) -> tuple:
    report = {
        "request_id": request_id,
        "recipient_id": recipient["recipient_id"],
        "dest_addr": recipient["dest_addr"],
        "status": status,
        "timestamp": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    return url, json.dumps(report).encode(), {"Content-Type": "application/json"}


def main() -> None:
    parser = command_line("A fake Beem Africa SMS API.")
    parser.add_argument("--api-key", default=API_KEY)
    parser.add_argument("--secret-key", default=SECRET_KEY)
    parser.add_argument("--callback-status", default="DELIVERED")
    options = vars(parser.parse_args())
    serve_until_interrupted(FakeBeem(**options))


if __name__ == "__main__":
    main()
