"""gunicorn's configuration (`gunicorn -c mifumo/gunicorn.conf.py`): its own error answers in
the envelope too.

gunicorn refuses a request line over `limit_request_line` (414), headers over
`limit_request_field_size` or `limit_request_fields` (431) and malformed HTTP (400) before
Django sees the request, with an HTML page of its own. Clients switch on `error_code`, so those
answers are the same JSON envelope as every other error.
"""

import json

from gunicorn import util

_CODES = {
    400: "MALFORMED_REQUEST",
    403: "PERMISSION_DENIED",
    414: "URI_TOO_LONG",
    417: "MALFORMED_REQUEST",
    431: "HEADERS_TOO_LARGE",
    501: "MALFORMED_REQUEST",
}


def _write_json_error(sock, status_int, reason, mesg):
    """gunicorn.util.write_error's contract (one whole response, then close), in JSON."""
    from mifumo.errors import ErrorCode, error_body

    code = ErrorCode(_CODES.get(status_int, "INTERNAL_ERROR"))
    body = json.dumps(error_body(f"{reason}. {mesg}".strip(" ."), code)).encode()
    head = (
        f"HTTP/1.1 {status_int} {reason}\r\nConnection: close\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    util.write_nonblock(sock, head.encode("latin1") + body)


util.write_error = _write_json_error
