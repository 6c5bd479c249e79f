"""Coupons: each reason one is refused, percent and fixed discounts on what is charged (never the
credits), uses counted once per order against max_uses across tenants and under concurrency,
the public list that leaks no secret code, and operators' saves in the admin."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from billing.coupons import coupon_save
from billing.models import Coupon, CreditLedgerEntry, PaymentTransaction, SmsPackage
from billing.payments.services import Buyer, payment_initiate
from billing.selectors import credit_balance_get
from billing.services import sms_packages_seed
from mifumo.errors import ApplicationError
from tests.concurrency import at_once
from tests.conftest import committed
from tests.envelope import assert_error, ok_data

PURCHASE = "/api/billing/sms/purchase/"
INITIATE = "/api/billing/payments/initiate/"
COUPONS = "/api/billing/coupons/"
VALIDATE = "/api/billing/coupons/validate/"
PHONE = "+255712345678"


@pytest.fixture
def business(db) -> SmsPackage:
    sms_packages_seed()
    return SmsPackage.objects.get(name="Business")  # 5,000 SMS + 250 bonus for 110,000 TZS


@pytest.fixture
def instant_sandbox(settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 0


def make_coupon(code: str = "SAVE10", packages=None, **fields) -> Coupon:
    fields.setdefault("discount_type", Coupon.DiscountType.PERCENT)
    fields.setdefault("value", Decimal("10"))
    return coupon_save(coupon=Coupon(code=code, **fields), packages=packages)


def buy(api, member, package, code: str):
    body = {
        "package_id": str(package.pk),
        "payment_method": "mobile_money",
        "phone_number": PHONE,
        "coupon_code": code,
    }
    return api(member).post(PURCHASE, body, format="json")


def validate(api, member, code: str, package=None):
    body = {"code": code, **({"package_id": str(package.pk)} if package else {})}
    return api(member).post(VALIDATE, body, format="json")


def test_a_percent_coupon_discounts_the_charge_and_not_the_credits(
    api, a, business, instant_sandbox, on_commit
):
    make_coupon("save10", max_uses=3)

    with on_commit():
        data = ok_data(buy(api, a.owner, business, "Save10"), 201)

    assert data["amount"] == 99000
    assert data["discount"] == 11000
    assert data["coupon_code"] == "SAVE10"
    assert (data["credits"], data["bonus_credits"]) == (5000, 250)
    payment = PaymentTransaction.objects.get(pk=data["id"])
    assert (payment.amount, payment.discount) == (Decimal("99000"), Decimal("11000"))
    assert payment.coupon is not None and payment.coupon.code == "SAVE10"
    assert payment.status == PaymentTransaction.Status.COMPLETED  # paid 99,000 as ordered
    assert credit_balance_get(tenant_id=a.tenant.pk).credits == 5250
    assert Coupon.objects.get(code="SAVE10").uses == 1


def test_a_fixed_coupon_takes_its_amount_off_and_never_below_the_minimum(
    api, a, business, instant_sandbox, on_commit
):
    make_coupon("FLAT", discount_type="fixed", value=Decimal("20000"), currency="TZS")
    make_coupon("HUGE", discount_type="fixed", value=Decimal("500000"), currency="TZS")

    with on_commit():
        flat = ok_data(buy(api, a.owner, business, "flat"), 201)
        huge = ok_data(buy(api, a.owner, business, "huge"), 201)

    assert (flat["amount"], flat["discount"]) == (90000, 20000)
    assert (huge["amount"], huge["discount"]) == (1, 109999)
    assert credit_balance_get(tenant_id=a.tenant.pk).credits == 2 * 5250


def test_credits_bought_without_a_package_take_a_coupon_on_initiate(
    api, a, instant_sandbox, on_commit
):
    make_coupon("HALF", value=Decimal("50"))
    body = {"credits": 100, "buyer_phone": PHONE, "coupon_code": "half"}

    with on_commit():
        data = ok_data(api(a.owner).post(INITIATE, body, format="json"), 201)

    assert (data["amount"], data["discount"]) == (1250, 1250)  # 100 credits at 25 TZS
    assert credit_balance_get(tenant_id=a.tenant.pk).credits == 100


def test_each_refusal_says_why_and_makes_no_order(api, a, business):
    now = timezone.now()
    starter = SmsPackage.objects.get(name="Starter")
    make_coupon("OFF", is_active=False)
    make_coupon("SOON", valid_from=now + timedelta(days=1))
    make_coupon("GONE", valid_until=now - timedelta(seconds=1))
    make_coupon("USED", max_uses=2, uses=2)
    make_coupon("STARTERONLY", packages=[starter])
    make_coupon("DOLLARS", discount_type="fixed", value=Decimal("5"), currency="USD")
    expected = {
        "NOPE": "does not exist",
        "OFF": "no longer active",
        "SOON": "valid from",
        "GONE": "expired",
        "USED": "used up",
        "STARTERONLY": "does not apply to this package",
        "DOLLARS": "for orders in USD",
    }

    for code, reason in expected.items():
        for response in (validate(api, a.agent, code, business), buy(api, a.owner, business, code)):
            body = assert_error(response, 400, "INVALID_COUPON")
            assert reason in body["message"], (code, body["message"])
            assert body["errors"]["coupon_code"] == [body["message"]]

    assert PaymentTransaction.objects.count() == 0
    assert not Coupon.objects.exclude(code="USED").filter(uses__gt=0).exists()
    body = {"credits": 10, "buyer_phone": PHONE, "coupon_code": "STARTERONLY"}
    assert_error(api(a.owner).post(INITIATE, body, format="json"), 400, "INVALID_COUPON")


def test_validate_answers_the_discount_and_the_amount(api, a, business):
    make_coupon("save10", max_uses=5, valid_until=timezone.now() + timedelta(days=7))

    data = ok_data(validate(api, a.agent, "SAVE10", business))
    bare = ok_data(validate(api, a.agent, "save10"))

    assert data["valid"] is True
    assert (data["discount"], data["amount"]) == (11000, 99000)
    coupon = data["coupon"]
    assert (coupon["code"], coupon["discount_type"], coupon["value"]) == ("SAVE10", "percent", 10)
    assert coupon["remaining_uses"] == 5
    assert coupon["valid_until"] is not None
    assert (bare["discount"], bare["amount"]) == (None, None)
    assert Coupon.objects.get().uses == 0  # validating takes no use


def test_the_list_shows_usable_public_coupons_only(api, a):
    make_coupon("PUBLIC", is_public=True)
    make_coupon("SECRET")
    make_coupon("PUBLICOFF", is_public=True, is_active=False)
    make_coupon("PUBLICUSED", is_public=True, max_uses=1, uses=1)
    make_coupon("PUBLICOLD", is_public=True, valid_until=timezone.now() - timedelta(days=1))

    data = ok_data(api(a.agent).get(COUPONS))

    assert [row["code"] for row in data["results"]] == ["PUBLIC"]


def test_another_tenants_use_counts_against_max_uses(
    api, a, b, business, instant_sandbox, on_commit
):
    make_coupon("ONCE", max_uses=1)

    with on_commit():
        ok_data(buy(api, b.owner, business, "ONCE"), 201)

    assert_error(buy(api, a.owner, business, "ONCE"), 400, "INVALID_COUPON")
    assert Coupon.objects.get().uses == 1


def test_a_refused_order_gives_its_use_back(api, a, business, settings):
    from tests.fakes.zenopay import API_KEY, FakeZenoPay

    make_coupon("ONCE", max_uses=1)
    with FakeZenoPay() as fake:
        settings.PAYMENT_PROVIDER = "zenopay"
        settings.ZENOPAY_BASE_URL = fake.url
        settings.ZENOPAY_API_KEY = API_KEY
        fake.fail_next(status=400)
        response = buy(api, a.owner, business, "ONCE")

    assert_error(response, 502, "PAYMENT_PROVIDER_ERROR")
    assert PaymentTransaction.objects.get().status == PaymentTransaction.Status.FAILED
    assert Coupon.objects.get().uses == 0


def test_coupons_are_checked_when_saved(db):
    with pytest.raises(ValidationError, match="percent_below_100"):
        make_coupon("FREE", value=Decimal("100"))
    with pytest.raises(ValidationError, match="currency"):
        make_coupon("NOCUR", discount_type="fixed", value=Decimal("5"))
    make_coupon("Dup")
    with pytest.raises(ValidationError, match="unique_any_case"):
        make_coupon("DUP ")


@committed
def test_max_uses_holds_under_concurrency(committed_tenant, settings):
    settings.PAYMENT_PROVIDER = "sandbox"
    settings.SANDBOX_PAYMENT_DELAY_SECONDS = 600  # the orders stay pending
    sms_packages_seed()
    package = SmsPackage.objects.get(name="Business")
    coupon = make_coupon("FIVE", max_uses=5)
    workers = 20

    def order(_: int) -> str:
        try:
            payment_initiate(
                tenant=committed_tenant.tenant,
                payment_method="mobile_money",
                buyer=Buyer(name="Buyer", email="buyer@example.com", phone=PHONE),
                package=package,
                coupon_code="five",
            )
            return "ordered"
        except ApplicationError as exc:
            return str(exc.code)

    try:
        outcomes = at_once(order, workers)

        assert outcomes.count("ordered") == 5
        assert outcomes.count("INVALID_COUPON") == workers - 5
        assert PaymentTransaction.objects.filter(coupon=coupon).count() == 5
        coupon.refresh_from_db()
        assert coupon.uses == 5
    finally:
        payments = PaymentTransaction.objects.filter(tenant=committed_tenant.tenant)
        CreditLedgerEntry.objects.filter(payment__in=payments).delete()
        payments.delete()
        Coupon.objects.all().delete()
        SmsPackage.objects.all().delete()


def test_operators_make_coupons_in_the_admin(client, business):
    from accounts.models import User

    root = User.objects.create_superuser(email="root@example.com", password="Root-Pass-123")
    client.force_login(root)
    form = {
        "code": " launch ",
        "description": "Launch week",
        "discount_type": "fixed",
        "value": "5000",
        "currency": "TZS",
        "max_uses": "100",
        "is_active": "on",
        "is_public": "on",
        "packages": [str(business.pk)],
    }

    response = client.post("/admin/billing/coupon/add/", form)

    assert response.status_code == 302, response.content
    coupon = Coupon.objects.get(code="LAUNCH")
    assert list(coupon.packages.all()) == [business]
    assert client.post("/admin/billing/coupon/add/", {**form, "code": "Launch"}).status_code == 200
    assert Coupon.objects.count() == 1  # the same code in another case is refused
    assert client.get("/admin/billing/coupon/").status_code == 200
