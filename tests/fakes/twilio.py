"""A fake Twilio REST API (the parts we use) on a real socket, for the test suite, benchmarks and
manual runs:

    python -m tests.fakes.twilio --port 9002 [--callback-url URL] [--latency S] [--error-rate R]

Under /2010-04-01/Accounts/{sid}: POST Messages.json (form-encoded To, From or
MessagingServiceSid, Body, StatusCallback) answers 201 with a message resource; GET .json and
GET Balance.json answer the account and its balance. HTTP Basic auth is `account_sid:auth_token`.
Errors come as Twilio's {"code", "message", "more_info", "status"}.

Each accepted message gets one status callback POSTed to its StatusCallback (else to
callback_url, when set), form-encoded like Twilio's and signed with X-Twilio-Signature:
MessageSid, MessageStatus, To, From, AccountSid, MessagingServiceSid (when used) and ErrorCode
(when the status is failed or undelivered).
"""

import re
import uuid
from datetime import UTC, datetime
from email.utils import format_datetime

from twilio.request_validator import RequestValidator

from tests.fakes.server import (
    AcceptedSms,
    Answer,
    FakeRequest,
    FakeServer,
    command_line,
    serve_until_interrupted,
)

API_VERSION = "2010-04-01"
ACCOUNT_SID = "AC00000000000000000000000000000001"
AUTH_TOKEN = "test-auth-token"
_PATH = re.compile(
    rf"/{API_VERSION}/Accounts/(?P<sid>[^/]+?)(?P<resource>/Messages|/Balance|)\.json"
)
_E164 = re.compile(r"\+[1-9]\d{6,14}")
# Twilio's error codes for what the fake checks.
MESSAGES = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "Invalid 'To' Phone Number",
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
}
# The number a Messaging Service's sender pool sends from.
SERVICE_NUMBER = "+15005550006"


class FakeTwilio(FakeServer):
    def __init__(
        self,
        *,
        account_sid: str = ACCOUNT_SID,
        auth_token: str = AUTH_TOKEN,
        balance: str = "100.00",
        currency: str = "USD",
        friendly_name: str = "Mifumo test account",
        account_status: str = "active",
        callback_status: str = "delivered",
        callback_error_code: str = "30003",
        **options,
    ) -> None:
        super().__init__(**options)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.balance = balance
        self.currency = currency
        self.friendly_name = friendly_name
        self.account_status = account_status
        self.callback_status = callback_status
        self.callback_error_code = callback_error_code

    def handle(self, request: FakeRequest) -> Answer:
        match = _PATH.fullmatch(request.path)
        if match is None:
            return 404, self.error_body(404, 20404)
        if match["sid"] != self.account_sid or request.basic_auth() != (
            self.account_sid,
            self.auth_token,
        ):
            return 401, self.error_body(401, 20003)
        resource = (request.method, match["resource"])
        if resource == ("POST", "/Messages"):
            return self.send_fault() or self._create_message(request)
        if resource == ("GET", ""):
            return 200, self._account()
        if resource == ("GET", "/Balance"):
            return 200, {
                "account_sid": self.account_sid,
                "balance": self.balance,
                "currency": self.currency,
            }
        return 404, self.error_body(404, 20404)

    def _create_message(self, request: FakeRequest) -> Answer:
        form = request.form()
        to, body = form.get("To", ""), form.get("Body", "")
        sender, service = form.get("From", ""), form.get("MessagingServiceSid", "")
        if not to:
            return 400, self.error_body(400, 21604)
        if not (sender or service):
            return 400, self.error_body(400, 21603)
        if not body:
            return 400, self.error_body(400, 21602)
        if not _E164.fullmatch(to):
            return 400, self.error_body(400, 21211)
        sid = f"SM{uuid.uuid4().hex}"
        sender = sender or SERVICE_NUMBER
        self.record_accepted([AcceptedSms("", to, body, sender, sid)])
        callback_url = form.get("StatusCallback") or self.callback_url
        if callback_url:
            fields = {"MessageSid": sid, "To": to, "From": sender, "AccountSid": self.account_sid}
            if service:
                fields["MessagingServiceSid"] = service
            self.queue_callback(self._status_callback, callback_url, self.callback_status, fields)
        now = format_datetime(datetime.now(UTC), usegmt=True)
        return 201, {
            "sid": sid,
            "account_sid": self.account_sid,
            "api_version": API_VERSION,
            "body": body,
            "date_created": now,
            "date_updated": now,
            "date_sent": None,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": sender,
            "messaging_service_sid": service or None,
            "num_media": "0",
            "num_segments": "1",
            "price": None,
            "price_unit": self.currency,
            "status": "queued",
            "to": to,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}/Messages/{sid}.json",
        }

    def _account(self) -> dict:
        return {
            "sid": self.account_sid,
            "friendly_name": self.friendly_name,
            "status": self.account_status,
            "type": "Full",
            "owner_account_sid": self.account_sid,
            "uri": f"/{API_VERSION}/Accounts/{self.account_sid}.json",
        }

    def _status_callback(self, url: str, status: str, fields: dict) -> tuple:
        params = {**fields, "MessageStatus": status}
        if status in ("failed", "undelivered"):
            params["ErrorCode"] = self.callback_error_code
        signature = RequestValidator(self.auth_token).compute_signature(url, params)
        return url, params, {"X-Twilio-Signature": signature}

    def error_body(self, status: int, code: int | None) -> object:
        code = code or {429: 20429, 500: 20500}.get(status, status)
        return {
            "code": code,
            "message": MESSAGES.get(code, "Error"),
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        }


def main() -> None:
    parser = command_line("A fake Twilio Messaging API.")
    parser.add_argument("--account-sid", default=ACCOUNT_SID)
    parser.add_argument("--auth-token", default=AUTH_TOKEN)
    parser.add_argument("--callback-status", default="delivered")
    options = vars(parser.parse_args())
    serve_until_interrupted(FakeTwilio(**options))


if __name__ == "__main__":
    main()
