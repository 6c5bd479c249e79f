"""A fake ZenoPay mobile money API (Tanzania) on a real socket, for the test suite and manual
runs, from ZenoPay's published format:

    python -m tests.fakes.zenopay --port 9003 [--api-key KEY] [--callback-delay S]

Every request must carry `x-api-key`; a wrong one is HTTP 401 {"status": "error", ...}.

    POST /mobile_money_tanzania {order_id, buyer_email, buyer_name, buyer_phone: 07XXXXXXXX,
        amount: <integer TZS>, webhook_url}
        -> {"status": "success", "resultcode": "000", "order_id": ..., "message": ...}
    GET /order-status?order_id=...
        -> {"reference": ..., "resultcode": "000", "result": "SUCCESS", "message": ...,
            "data": [{order_id, creation_date, amount, payment_status, transid, channel,
                      reference, msisdn}]}

An order is PENDING until the payer acts: `complete(order_id)` (optionally paying another
`amount`), `fail(order_id)` or `cancel(order_id)` in tests. With `auto_complete` every order is
paid at once, and with a callback delay each accepted order's webhook_url is then POSTed
{"order_id", "payment_status": "COMPLETED", "reference", "metadata"} with the same x-api-key.
"""

import itertools
import json
import re
import secrets
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tests.fakes.server import (
    Answer,
    FakeRequest,
    FakeServer,
    command_line,
    serve_until_interrupted,
)

CREATE_PATH = "/mobile_money_tanzania"
STATUS_PATH = "/order-status"
API_KEY = "test-zenopay-key"
LOCAL_PHONE = re.compile(r"^0[67]\d{8}$")
CHANNELS = {
    "74": "TZ-VODACOM-C2B",
    "75": "TZ-VODACOM-C2B",
    "65": "TZ-TIGO-C2B",
    "78": "TZ-AIRTEL-C2B",
}


@dataclass
class FakeOrder:
    order_id: str
    amount: int
    phone: str
    webhook_url: str
    payment_status: str = "PENDING"
    reference: str = field(default_factory=lambda: f"{secrets.randbelow(10**10):010d}")
    transid: str = ""
    created_at: str = field(default_factory=lambda: datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S"))


class FakeZenoPay(FakeServer):
    def __init__(self, *, api_key: str = API_KEY, auto_complete: bool = False, **options) -> None:
        super().__init__(**options)
        self.api_key = api_key
        self.auto_complete = auto_complete
        self.orders: dict[str, FakeOrder] = {}
        self._orders_lock = threading.Lock()
        self._transids = itertools.count(1)

    @property
    def base_url(self) -> str:
        return self.url

    def handle(self, request: FakeRequest) -> Answer:
        route = (request.method, request.path)
        if route not in {("POST", CREATE_PATH), ("GET", STATUS_PATH)}:
            return 404, {"status": "error", "message": f"No route {request.method} {request.path}"}
        if request.headers.get("x-api-key") != self.api_key:
            return 401, self.error_body(401, None)
        if route == ("GET", STATUS_PATH):
            return self._status(request.query.get("order_id", ""))
        return self.send_fault() or self._create(request)

    def _create(self, request: FakeRequest) -> Answer:
        try:
            body = request.json()
        except ValueError:
            body = None
        if not isinstance(body, dict) or not body.get("order_id"):
            return 400, {"status": "error", "message": "order_id is required"}
        if not LOCAL_PHONE.match(str(body.get("buyer_phone", ""))):
            return 400, {"status": "error", "message": "Invalid buyer_phone (use 07XXXXXXXX)"}
        if not isinstance(body.get("amount"), int) or body["amount"] <= 0:
            return 400, {"status": "error", "message": "amount must be a positive integer"}
        order = FakeOrder(
            order_id=str(body["order_id"]),
            amount=body["amount"],
            phone=body["buyer_phone"],
            webhook_url=str(body.get("webhook_url", "")),
        )
        with self._orders_lock:
            if order.order_id in self.orders:
                return 400, {"status": "error", "message": "Duplicate order_id"}
            self.orders[order.order_id] = order
        if self.auto_complete:
            self.complete(order.order_id)
            if self.callback_url or order.webhook_url:
                self.queue_callback(self.callback, order.order_id, self.callback_url)
        return 200, {
            "status": "success",
            "resultcode": "000",
            "message": "Request in progress. You will receive a callback shortly",
            "order_id": order.order_id,
        }

    def _status(self, order_id: str) -> Answer:
        order = self.orders.get(order_id)
        if order is None:
            return 200, {
                "result": "FAIL",
                "resultcode": "404",
                "message": "Order not found",
                "data": [],
            }
        return 200, {
            "reference": order.reference,
            "resultcode": "000",
            "result": "SUCCESS",
            "message": "Order fetch successful",
            "data": [
                {
                    "order_id": order.order_id,
                    "creation_date": order.created_at,
                    "amount": str(order.amount),
                    "payment_status": order.payment_status,
                    "transid": order.transid,
                    "channel": CHANNELS.get(order.phone[1:3], "TZ-VODACOM-C2B"),
                    "reference": order.reference,
                    "msisdn": "255" + order.phone[1:],
                }
            ],
        }

    def complete(self, order_id: str, *, amount: int | None = None) -> None:
        """The payer confirmed: the order is COMPLETED, for `amount` if given (a mismatch)."""
        order = self.orders[order_id]
        order.payment_status = "COMPLETED"
        order.transid = f"CEJ{next(self._transids):07d}"
        if amount is not None:
            order.amount = amount

    def fail(self, order_id: str) -> None:
        self.orders[order_id].payment_status = "FAILED"

    def cancel(self, order_id: str) -> None:
        self.orders[order_id].payment_status = "CANCELLED"

    def callback(self, order_id: str, url: str | None = None) -> tuple[str, bytes, dict]:
        """The callback ZenoPay POSTs for an order: (url, body, headers)."""
        order = self.orders[order_id]
        body = {
            "order_id": order.order_id,
            "payment_status": order.payment_status,
            "reference": order.reference,
            "metadata": {},
        }
        headers = {"Content-Type": "application/json", "x-api-key": self.api_key}
        return url or order.webhook_url, json.dumps(body).encode(), headers

    def error_body(self, status: int, code: int | None) -> object:
        if status == 401:
            return {"status": "error", "message": "Invalid API key"}
        return {"status": "error", "message": "Internal server error" if status >= 500 else "Error"}


def main() -> None:
    parser = command_line("A fake ZenoPay mobile money API.")
    parser.add_argument("--api-key", default=API_KEY)
    parser.add_argument("--auto-complete", action="store_true")
    options = vars(parser.parse_args())
    serve_until_interrupted(FakeZenoPay(**options))


if __name__ == "__main__":
    main()
