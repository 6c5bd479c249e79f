"""The provider registry, and providers as leaves: they import nothing above mifumo/, use no
Celery and no database, and get what a send needs (its schema) as an argument."""

import ast
from pathlib import Path

import pytest

from sms.apps import sms_provider_check
from sms.providers import PROVIDERS, get_provider
from sms.providers.base import OutboundSms, SendContext
from sms.providers.sandbox import sandbox_outbox

PROVIDERS_DIR = Path(__file__).resolve().parents[2] / "sms" / "providers"
# What a provider may import of ours: mifumo/, the segment rules and the other providers.
OURS = ("mifumo", "accounts", "tenants", "billing", "sms", "messaging", "webhooks", "integration")
ALLOWED_OURS = ("mifumo", "sms.providers", "sms.segments")
FORBIDDEN = ("celery", "tenant_schemas_celery", "django_tenants", "django.db")


def _imports_of(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def _within(name: str, packages: tuple[str, ...]) -> bool:
    return any(name == package or name.startswith(f"{package}.") for package in packages)


@pytest.mark.parametrize("path", sorted(PROVIDERS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_a_provider_module_imports_neither_the_database_nor_celery_nor_our_upper_layers(path):
    imports = _imports_of(path)

    assert not {name for name in imports if _within(name, FORBIDDEN)}
    ours = {name for name in imports if _within(name, OURS)}
    assert {name for name in ours if not _within(name, ALLOWED_OURS)} == set()


def test_providers_are_built_and_a_sandbox_batch_sent_without_the_database():
    """No `db` fixture: pytest-django refuses any query, so one would fail this test."""
    for name in PROVIDERS:
        assert get_provider(name).name == name

    (result,) = get_provider("sandbox").send_batch(
        [OutboundSms(reference="ref-1", to="+255712000001", text="Hi", sender="Taarifa-SMS")],
        SendContext(schema_name="tenant_x"),
    )

    assert result.accepted
    assert sandbox_outbox(to="+255712000001")[0]["schema"] == "tenant_x"


def test_an_unknown_default_provider_fails_the_system_check(settings):
    settings.SMS_PROVIDER = "nonsense"

    assert [error.id for error in sms_provider_check()] == ["sms.E001"]
