"""Assertions on the one response envelope (DESIGN section 3), shared by every test folder."""

ENVELOPE_KEYS = {"success", "message", "data", "error_code", "details"}


def assert_error(response, status: int, code: str) -> dict:
    """A JSON error envelope with `status` and `error_code`; returns the body."""
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert set(body) >= ENVELOPE_KEYS, body
    assert body["success"] is False
    assert body["data"] is None
    assert body["error_code"] == code
    assert isinstance(body["message"], str)
    assert body["message"]
    return body


def assert_field_errors(response, *fields: str) -> dict:
    """A 400 VALIDATION_ERROR whose `errors` name exactly `fields`."""
    body = assert_error(response, 400, "VALIDATION_ERROR")
    assert set(body["errors"]) == set(fields), body["errors"]
    return body


def ok_data(response, status: int = 200):
    """The `data` of a success envelope with `status`."""
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is True
    assert body["error_code"] is None
    return body["data"]
