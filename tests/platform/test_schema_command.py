"""`manage.py generate_swagger` writes the same schema /swagger.json serves."""

import json

from django.core.management import call_command


def test_generate_swagger_writes_the_schema(db, tmp_path, client):
    target = tmp_path / "schema.json"

    call_command("generate_swagger", str(target), "--overwrite")

    written = json.loads(target.read_text())
    assert written["info"]["title"] == "Mifumo API"
    assert set(written["paths"]) == set(client.get("/swagger.json").json()["paths"])
