"""Saved payment methods: the mobile-money numbers a tenant keeps to pay with, and which one is
its default.

Every write locks the tenant's row first (SELECT ... FOR UPDATE), so concurrent saves of a
tenant's first number, or two moves of its default, follow one another: the first saved is the
default, and the partial unique index payment_method_one_default never sees two.
"""

import uuid
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from rest_framework import status

from billing.models import PaymentMethod
from mifumo.errors import ApplicationError, ErrorCode
from mifumo.phone import InvalidPhoneNumber, normalize_phone
from mifumo.selectors import get_or_404
from tenants.models import Tenant

if TYPE_CHECKING:
    from accounts.models import User


def payment_methods_of(*, tenant_id: uuid.UUID) -> QuerySet[PaymentMethod]:
    """The tenant's saved methods, the default first, then oldest first."""
    return PaymentMethod.objects.filter(tenant_id=tenant_id)


def payment_method_get(*, tenant_id: uuid.UUID, method_id: object) -> PaymentMethod:
    """The tenant's saved method, or the uniform 404 (another tenant's is not found)."""
    return get_or_404(payment_methods_of(tenant_id=tenant_id), method_id, "Payment method")


def _lock_tenant(tenant_id: uuid.UUID) -> None:
    list(Tenant.objects.select_for_update().filter(pk=tenant_id).values_list("pk"))


def _make_default(method: PaymentMethod) -> None:
    """Move the tenant's default to `method` (the tenant's row is locked by the caller)."""
    PaymentMethod.objects.filter(tenant_id=method.tenant_id, is_default=True).exclude(
        pk=method.pk
    ).update(is_default=False)
    if not method.is_default:
        method.is_default = True
        method.save(update_fields=["is_default"])


@transaction.atomic
def payment_method_add(
    *,
    tenant: Tenant,
    network: str,
    phone_number: str,
    label: str = "",
    is_default: bool = False,
    created_by: "User | None" = None,
) -> PaymentMethod:
    """Save a mobile-money number, read in the tenant's country. The tenant's first number is
    its default; `is_default` moves the default to this one. The same number twice is 409."""
    try:
        e164 = normalize_phone(phone_number, tenant.country)
    except InvalidPhoneNumber as exc:
        raise ApplicationError(
            str(exc),
            code=ErrorCode.INVALID_PHONE_FORMAT,
            errors={"phone_number": [str(exc)]},
        ) from exc
    _lock_tenant(tenant.pk)
    methods = payment_methods_of(tenant_id=tenant.pk)
    if methods.filter(phone_number=e164).exists():
        raise ApplicationError(
            "This number is already saved.",
            code=ErrorCode.CONFLICT,
            status_code=status.HTTP_409_CONFLICT,
            errors={"phone_number": ["This number is already saved."]},
        )
    first = not methods.exists()
    method = PaymentMethod.objects.create(
        tenant=tenant,
        network=network,
        phone_number=e164,
        label=label,
        created_by=created_by,
    )
    if first or is_default:
        _make_default(method)
    return method


@transaction.atomic
def payment_method_set_default(*, tenant_id: uuid.UUID, method_id: object) -> PaymentMethod:
    """Make the tenant's saved method its default (the previous default no longer is)."""
    _lock_tenant(tenant_id)
    method = payment_method_get(tenant_id=tenant_id, method_id=method_id)
    _make_default(method)
    return method


@transaction.atomic
def payment_method_delete(*, tenant_id: uuid.UUID, method_id: object) -> None:
    """Forget a saved method. When it was the default, the oldest one left becomes it."""
    _lock_tenant(tenant_id)
    method = payment_method_get(tenant_id=tenant_id, method_id=method_id)
    was_default = method.is_default
    method.delete()
    successor = payment_methods_of(tenant_id=tenant_id).order_by("created_at").first()
    if was_default and successor is not None:
        _make_default(successor)
