import pytest
from django.core import mail
from django_tenants.utils import schema_exists

from accounts.models import User, VerificationCode
from tenants.models import Membership, Role, Tenant
from tests.accounts.helpers import REGISTRATION, sent_code

URL = "/api/auth/register/"


@pytest.fixture
def register(api, on_commit, db):
    def _register(**overrides):
        with on_commit():
            return api().post(URL, {**REGISTRATION, **overrides}, format="json")

    return _register


def test_register_creates_inactive_user_tenant_and_texts_a_code(register):
    response = register()

    assert response.status_code == 201
    body = response.json()
    assert body["tokens"] is None
    assert body["account_active"] is False
    assert body["requires_activation"] is body["activation_required"] is True
    assert body["sms_verification_sent"] is True
    assert body["user"]["email"] == "amina@example.com"
    assert body["user"]["phone_number"] == "+255614853618"
    assert body["user"]["is_active"] is False
    assert body["user"]["phone_verified"] is False
    user = User.objects.get(email="amina@example.com")
    assert not user.is_active
    tenant = Tenant.objects.get(subdomain="mybusiness")
    assert tenant.name == "My Business"
    assert tenant.business_name == "My Company"
    assert tenant.country == "TZ"
    assert schema_exists(tenant.schema_name)
    assert Membership.objects.get(user=user, tenant=tenant).role == Role.OWNER
    assert user.active_tenant == tenant
    assert len(sent_code("+255614853618")) == 6
    assert [m.to for m in mail.outbox] == [["amina@example.com"]]


def test_register_keeps_only_a_hash_of_the_code(register):
    register()

    code = sent_code("+255614853618")
    stored = VerificationCode.objects.get(user__email="amina@example.com")
    assert code not in stored.code_hash
    assert len(stored.code_hash) == 64


def test_register_normalises_a_local_phone_with_the_country(register):
    response = register(phone_number="0712 345 678", country="KE", subdomain="")

    assert response.status_code == 201
    assert response.json()["user"]["phone_number"] == "+254712345678"


def test_register_derives_a_free_subdomain_from_the_business_name(register, a):
    Tenant.objects.filter(pk=a.tenant.pk).update(subdomain="my-business")

    response = register(subdomain="")

    assert response.status_code == 201
    assert Tenant.objects.filter(subdomain="my-business-2").exists()


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"password_confirm": "Different123!"}, "password_confirm"),
        ({"password": "123", "password_confirm": "123"}, "password"),
        ({"email": "not-an-email"}, "email"),
        ({"phone_number": "12"}, "phone_number"),
        ({"country": "Atlantis"}, "country"),
        ({"subdomain": "admin"}, "subdomain"),
        ({"subdomain": "-bad-"}, "subdomain"),
        ({"timezone": "Mars/Olympus"}, "timezone"),
        ({"first_name": ""}, "first_name"),
    ],
)
def test_register_rejects_bad_input_with_field_errors(register, overrides, field):
    response = register(**overrides)

    assert response.status_code == 400
    body = response.json()
    assert body["success"] is False
    assert body["error_code"] == "VALIDATION_ERROR"
    assert field in body["errors"]
    assert not User.objects.filter(email=REGISTRATION["email"]).exists()


def test_register_rejects_a_taken_email_and_subdomain(register, a):
    taken_email = register(email=a.owner.email, subdomain="fresh-one")
    taken_subdomain = register(subdomain="tenant-a")

    assert taken_email.status_code == 400
    assert "email" in taken_email.json()["errors"]
    assert taken_subdomain.status_code == 400
    assert "subdomain" in taken_subdomain.json()["errors"]


def test_register_with_an_idempotency_key_creates_one_account(api, on_commit, db):
    headers = {"HTTP_IDEMPOTENCY_KEY": "signup-1"}
    with on_commit():
        first = api().post(URL, REGISTRATION, format="json", **headers)
    second = api().post(URL, REGISTRATION, format="json", **headers)

    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert User.objects.filter(email=REGISTRATION["email"]).count() == 1
