"""Every operation the OpenAPI schema lists is served: none answers 405 Method Not Allowed.

drf-yasg documents each method a view class defines, whatever path routes to it, so a view
shared by two paths (`.../update/` and `.../delete/`) would advertise methods the path refuses.
"""

import re
import uuid

import pytest

from tests.integration.helpers import key_client, key_for

PLACEHOLDER = re.compile(r"\{[^}]+\}")


@pytest.fixture
def operations(client, db):
    paths = client.get("/swagger.json").json()["paths"]
    return sorted(
        (method, path)
        for path, item in paths.items()
        for method in item
        if method in {"get", "post", "put", "patch", "delete"}
    )


def test_no_documented_operation_answers_405(api, a, operations):
    owner = api(a.owner)
    integration = key_client(key_for(a).key)
    refused = []
    for method, path in operations:
        url = PLACEHOLDER.sub(str(uuid.uuid4()), path)
        client = integration if path.startswith("/api/integration/v1/") else owner
        response = getattr(client, method)(url, {}, format="json")
        if response.status_code == 405:
            refused.append(f"{method.upper()} {path}")

    assert len(operations) > 50
    assert refused == []
