"""Channels: the provider accounts a tenant sends through and the addresses they own (DESIGN
section 1, sms.models.Channel and ChannelAddress). Every write of both tables is here.

- A tenant's own account: `channel_create`, `channel_update`, `channel_delete` (owners and
  admins, through the API). Credentials are checked with the provider's balance or account
  call before anything is stored, and never sent back: they are encrypted (sms.credentials)
  and readers see their masked hint. `channel_test` checks them again on demand.
- Platform-owned addresses: `channel_address_assign` attaches a number of the platform's
  account to a tenant (an address of its platform channel for that provider, made on first
  use); `channel_address_release` takes it back. `channel_sandbox_ensure` gives a tenant its
  sandbox channel with a fake number of its own, +255 7000 NNNNN, numbered by a sequence.
- `channel_provider` builds the provider a channel works through.

Deleting: a tenant's own channel, default or not, is soft-deleted (its row stays for the
history that names it; it loses its credentials, its addresses and its default, after which
sends of that provider fall back to the platform's account). A platform channel cannot be
deleted by the tenant (409 CONFLICT): its numbers are the platform's, released by an operator.

Every change to a tenant's channels of one provider takes one transaction-scoped advisory
lock for (tenant, provider) first, so that "at most one default" and "one platform channel"
hold under concurrent requests without retries.
"""

import logging
import re
import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone
from rest_framework import status

from mifumo.errors import ApplicationError, ErrorCode, field_error
from mifumo.events import Event
from mifumo.phone import InvalidPhoneNumber, normalize_phone
from sms.credentials import (
    CredentialsUnreadable,
    credentials_decrypt,
    credentials_encrypt,
    credentials_mask,
    secrets_scrubbed,
)
from sms.models import Channel, ChannelAddress
from sms.providers import PROVIDERS, get_provider, provider_for_account
from sms.providers.base import ConnectionCheck, SmsProvider

if TYPE_CHECKING:
    from accounts.models import User
    from tenants.models import Tenant

logger = logging.getLogger(__name__)

Provider = Channel.Provider
Kind = ChannelAddress.Kind
PROVIDER_FIELD = "provider"
CREDENTIALS_FIELD = "credentials"
ADDRESSES_FIELD = "addresses"
MAX_ADDRESSES = 100
MAX_SENDER_ID_LENGTH = 11
SHORTCODE_DIGITS = (3, 8)
# Digits-only addresses up to this long are read as shortcodes, longer ones as numbers.
INFERRED_SHORTCODE_MAX_DIGITS = 6
SENDER_ID_RE = re.compile(r"^[A-Za-z0-9 .\-]+$")
LETTER_RE = re.compile(r"[A-Za-z]")
SEPARATORS_RE = re.compile(r"[\s\-().]")
# Sandbox numbers: +255 7000 NNNNN for the first 100,000 tenants, then on into +255 7001...
SANDBOX_NATIONAL_BASE = 700_000_000
SANDBOX_SEQUENCE = "sms_sandbox_number_seq"
SANDBOX_ALLOCATION_ATTEMPTS = 20


class InvalidAddress(ValueError):
    """Not a phone number, sender ID or shortcode (the message says why)."""


def channel_address_normalise(
    raw: str, *, kind: str | None = None, region: str | None = None
) -> tuple[str, str]:
    """(kind, address) as the index keeps it: a number in E.164 (local spellings read in
    `region`), a sender ID as typed (trimmed), a shortcode as its digits.

    Without `kind` it is read from the address: one with a letter is a sender ID; digits
    alone, up to INFERRED_SHORTCODE_MAX_DIGITS of them, a shortcode; anything else a number.
    Raises InvalidAddress.
    """
    raw = (raw or "").strip()
    if not raw:
        raise InvalidAddress("An address cannot be empty.")
    digits = SEPARATORS_RE.sub("", raw)
    if kind is None:
        if LETTER_RE.search(raw):
            kind = Kind.SENDER_ID
        elif digits.isdigit() and len(digits) <= INFERRED_SHORTCODE_MAX_DIGITS:
            kind = Kind.SHORTCODE
        else:
            kind = Kind.NUMBER
    if kind == Kind.SENDER_ID:
        if len(raw) > MAX_SENDER_ID_LENGTH or not SENDER_ID_RE.match(raw):
            raise InvalidAddress(
                f"'{raw}' is no sender ID: 1 to {MAX_SENDER_ID_LENGTH} letters, digits, "
                "spaces, '-' or '.'."
            )
        if not LETTER_RE.search(raw):
            raise InvalidAddress(f"'{raw}' is no sender ID: it needs at least one letter.")
        return Kind.SENDER_ID, raw
    if kind == Kind.SHORTCODE:
        low, high = SHORTCODE_DIGITS
        if not (digits.isdigit() and low <= len(digits) <= high):
            raise InvalidAddress(f"'{raw}' is no shortcode: {low} to {high} digits.")
        return Kind.SHORTCODE, digits
    try:
        return Kind.NUMBER, normalize_phone(raw, region)
    except InvalidPhoneNumber as exc:
        raise InvalidAddress(str(exc)) from exc


def _addresses_check(raw_addresses: Iterable[str], *, region: str) -> list[tuple[str, str]]:
    """The addresses normalised, in their order, each once; a 400 on `addresses` otherwise."""
    normalised: dict[str, str] = {}
    for raw in raw_addresses:
        try:
            kind, address = channel_address_normalise(raw, region=region)
        except InvalidAddress as exc:
            raise field_error(ADDRESSES_FIELD, str(exc)) from exc
        normalised.setdefault(address, kind)
    if len(normalised) > MAX_ADDRESSES:
        raise field_error(ADDRESSES_FIELD, f"A channel has at most {MAX_ADDRESSES} addresses.")
    return [(kind, address) for address, kind in normalised.items()]


def _provider_class(provider: str) -> type[SmsProvider]:
    """The SMS provider class of a channel provider; a 400 on `provider` for one that has
    none yet (WhatsApp)."""
    if provider not in Provider.values:
        raise field_error(PROVIDER_FIELD, f"'{provider}' is no provider.")
    try:
        return PROVIDERS[provider]
    except KeyError:
        raise field_error(
            PROVIDER_FIELD, f"{Provider(provider).label} channels are not available yet."
        ) from None


def _credentials_check(provider: str, given: Mapping[str, Any]) -> dict[str, str]:
    """The credentials trimmed, if they are what `provider` takes; a 400 on `credentials`
    naming the fields (never their values) otherwise."""
    provider_class = _provider_class(provider)
    known = (*provider_class.required_credentials, *provider_class.optional_credentials)
    label = Provider(provider).label
    unknown = sorted(set(given) - set(known))
    if unknown:
        takes = ", ".join(known) or "none"
        raise field_error(
            CREDENTIALS_FIELD,
            f"{label} takes no credential {', '.join(unknown)} (it takes: {takes}).",
        )
    values = {name: str(value).strip() for name, value in given.items() if str(value).strip()}
    missing = [name for name in provider_class.required_credentials if name not in values]
    if missing:
        raise field_error(CREDENTIALS_FIELD, f"{label} needs {', '.join(missing)}.")
    return values


def _credentials_refused(provider: str, check: ConnectionCheck) -> ApplicationError:
    label = Provider(provider).label
    return ApplicationError(
        f"{label} did not accept these credentials: {check.detail}",
        code=ErrorCode.CHANNEL_CREDENTIALS_INVALID,
        status_code=status.HTTP_400_BAD_REQUEST,
        details={"provider": provider, "detail": check.detail},
    )


def _account_check(provider: str, credentials: Mapping[str, str]) -> ConnectionCheck:
    """The provider's balance or account call with these credentials (it sends nothing),
    its detail scrubbed of every credential value."""
    check = provider_for_account(provider, credentials).test_connection()
    detail = secrets_scrubbed(check.detail, credentials)
    if not check.ok:
        logger.info("A %s account check failed: %s", provider, detail)
    return ConnectionCheck(ok=check.ok, detail=detail)


def _checked_credentials(provider: str, credentials: Mapping[str, str]) -> dict[str, Any]:
    """The fields a channel stores for credentials the provider has just accepted; a 400
    CHANNEL_CREDENTIALS_INVALID when it refuses them."""
    check = _account_check(provider, credentials)
    if not check.ok:
        raise _credentials_refused(provider, check)
    return {
        "credentials": credentials_encrypt(credentials),
        "credentials_hint": credentials_mask(credentials),
        "verified_at": timezone.now(),
    }


def _lock(tenant_id: uuid.UUID, provider: str) -> None:
    """Serialise the changes to one tenant's channels of one provider, to the transaction's end."""
    key = f"sms.channels:{tenant_id}:{provider}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [key])


def _has_default(tenant_id: uuid.UUID, provider: str) -> bool:
    return Channel.objects.filter(tenant_id=tenant_id, provider=provider, is_default=True).exists()


def _defaults_clear(channel: Channel) -> None:
    """No other channel of its tenant and provider is the default (under _lock)."""
    Channel.objects.filter(
        tenant_id=channel.tenant_id, provider=channel.provider, is_default=True
    ).exclude(pk=channel.pk).update(is_default=False, updated_at=timezone.now())


def _address_taken(
    address: str, holder_tenant_id: uuid.UUID | None, channel: Channel
) -> ApplicationError:
    """409 for an address another channel holds: named when it is this tenant's own."""
    if holder_tenant_id == channel.tenant_id:
        where = "another of your channels"
    else:
        where = "another account"
    return ApplicationError(
        f"The address {address} already belongs to {where}.",
        code=ErrorCode.CONFLICT,
        status_code=status.HTTP_409_CONFLICT,
        details={"address": address},
    )


def _addresses_attach(
    channel: Channel, addresses: list[tuple[str, str]], *, assigned_by: "User | None" = None
) -> list[ChannelAddress]:
    """Index `addresses` as the channel's (under _lock); an address another channel holds,
    this tenant's or another's, is a 409 CONFLICT that never names another tenant."""
    held = {
        row.address: row
        for row in ChannelAddress.objects.filter(
            provider=channel.provider, address__in=[address for _, address in addresses]
        )
    }
    attached = []
    for kind, address in addresses:
        holder = held.get(address)
        if holder is not None:
            if holder.channel_id != channel.pk:
                raise _address_taken(address, holder.tenant_id, channel)
            attached.append(holder)
            continue
        row = ChannelAddress(
            channel=channel,
            tenant_id=channel.tenant_id,
            provider=channel.provider,
            kind=kind,
            address=address,
            assigned_by=assigned_by,
        )
        try:
            with transaction.atomic():
                row.save()
        except IntegrityError as exc:  # taken by a concurrent request since the read above
            raise _address_taken(address, None, channel) from exc
        attached.append(row)
    return attached


def _platform_refusal(channel: Channel, doing: str) -> ApplicationError:
    return ApplicationError(
        f"Cannot {doing} '{channel.name}': its account and numbers are the platform's. "
        "Ask an operator.",
        code=ErrorCode.CONFLICT,
        status_code=status.HTTP_409_CONFLICT,
        details={"channel_id": str(channel.pk), "is_platform": True},
    )


def channel_create(
    *,
    tenant: "Tenant",
    provider: str,
    name: str = "",
    credentials: Mapping[str, Any] | None = None,
    addresses: Iterable[str] = (),
    is_default: bool | None = None,
    is_active: bool = True,
    created_by: "User | None" = None,
) -> Channel:
    """A channel on the tenant's own account at `provider`, once the provider has accepted
    the credentials (nothing is sent). Without `is_default` it becomes the default when its
    provider has none; `is_default=True` takes the default from the channel that had it.

    400 on `provider` for an unknown one, the sandbox (every tenant has one, made by the
    platform) or one not available yet; 400 on `credentials` or `addresses` for what the
    provider does not take; 400 CHANNEL_CREDENTIALS_INVALID when the provider refuses them;
    409 CONFLICT for an address another channel holds.
    """
    if provider == Provider.SANDBOX:
        raise field_error(
            PROVIDER_FIELD,
            "The sandbox channel is made by the platform; every tenant has one already.",
        )
    account = _credentials_check(provider, credentials or {})
    if is_default and not is_active:
        raise field_error("is_default", "An inactive channel cannot be the default.")
    checked_addresses = _addresses_check(addresses, region=tenant.country)
    stored = _checked_credentials(provider, account)  # the provider's call, outside any lock
    with transaction.atomic():
        _lock(tenant.pk, provider)
        if is_default is None:
            is_default = is_active and not _has_default(tenant.pk, provider)
        channel = Channel(
            tenant=tenant,
            provider=provider,
            name=name.strip() or Provider(provider).label,
            is_default=is_default,
            is_active=is_active,
            created_by=created_by,
            **stored,
        )
        if is_default:
            _defaults_clear(channel)
        channel.save()
        _addresses_attach(channel, checked_addresses)
    logger.info("Channel %s (%s) created for tenant %s", channel.pk, provider, tenant.pk)
    return channel


def channel_update(
    *,
    channel: Channel,
    name: str | None = None,
    credentials: Mapping[str, Any] | None = None,
    addresses: Iterable[str] | None = None,
    is_default: bool | None = None,
    is_active: bool | None = None,
) -> Channel:
    """Change what is given (None: unchanged). `credentials` are merged into the stored ones
    (a field left out keeps its value) and checked with the provider before they are kept;
    `addresses` replace the channel's. Deactivating a channel also ends its being the default.

    A platform channel takes a new name or default, not credentials or addresses (409).
    """
    if channel.is_platform and (credentials is not None or addresses is not None):
        raise _platform_refusal(channel, "change the credentials or addresses of")
    if name is not None and not name.strip():
        raise field_error("name", "A channel needs a name.")
    becomes_active = channel.is_active if is_active is None else is_active
    if is_default and not becomes_active:
        raise field_error("is_default", "An inactive channel cannot be the default.")
    checked_addresses = None
    if addresses is not None:
        checked_addresses = _addresses_check(addresses, region=channel.tenant.country)
    stored: dict[str, Any] = {}
    if credentials is not None:
        merged = {**_stored_credentials(channel), **credentials}
        stored = _checked_credentials(
            channel.provider, _credentials_check(channel.provider, merged)
        )
    with transaction.atomic():
        _lock(channel.tenant_id, channel.provider)
        locked = Channel.objects.select_for_update().get(pk=channel.pk)
        if locked.deleted_at is not None:
            raise ApplicationError(
                "Channel not found.",
                code=ErrorCode.NOT_FOUND,
                status_code=status.HTTP_404_NOT_FOUND,
            )
        if name is not None:
            locked.name = name.strip()
        for field, value in stored.items():
            setattr(locked, field, value)
        locked.is_active = becomes_active
        if not becomes_active:
            locked.is_default = False
        elif is_default is not None:
            locked.is_default = is_default
        if locked.is_default:
            _defaults_clear(locked)
        locked.save()
        if checked_addresses is not None:
            kept = _addresses_attach(locked, checked_addresses)
            locked.addresses.exclude(pk__in=[row.pk for row in kept]).delete()
    return locked


def _stored_credentials(channel: Channel) -> dict[str, str]:
    try:
        return credentials_decrypt(channel.credentials)
    except CredentialsUnreadable:
        # The key that encrypted them is gone; new credentials replace them whole.
        logger.warning("The credentials of channel %s cannot be decrypted", channel.pk)
        return {}


@transaction.atomic
def channel_delete(*, channel: Channel) -> Channel:
    """Soft-delete a tenant's own channel: inactive, no longer the default, its credentials
    erased and its addresses given up; the row stays for the history that names it. A
    platform channel is a 409 CONFLICT."""
    if channel.is_platform:
        raise _platform_refusal(channel, "delete")
    _lock(channel.tenant_id, channel.provider)
    locked = Channel.objects.select_for_update().get(pk=channel.pk)
    if locked.deleted_at is None:
        locked.addresses.all().delete()
        locked.deleted_at = timezone.now()
        locked.is_active = False
        locked.is_default = False
        locked.credentials = ""
        locked.credentials_hint = {}
        locked.save()
        logger.info("Channel %s (%s) deleted", locked.pk, locked.provider)
    return locked


def channel_provider(*, channel: Channel) -> SmsProvider:
    """The provider `channel` works through: on the platform's account for a platform channel,
    else on the tenant's own. Raises CredentialsUnreadable when they cannot be decrypted."""
    if channel.is_platform:
        return get_provider(channel.provider)
    return provider_for_account(channel.provider, credentials_decrypt(channel.credentials))


def channel_test(*, channel: Channel) -> dict[str, Any]:
    """Check the channel's account with the provider's balance or account call (nothing is
    sent) and note when it passed: {channel_id, provider, ok, detail, verified_at}.

    400 CHANNEL_CREDENTIALS_INVALID when the provider refuses the tenant's own credentials,
    409 CONFLICT when they can no longer be decrypted, 502 SMS_PROVIDER_UNAVAILABLE when the
    platform's own account fails (no fault of the tenant's).
    """
    try:
        credentials = {} if channel.is_platform else credentials_decrypt(channel.credentials)
    except CredentialsUnreadable as exc:
        logger.error("The credentials of channel %s cannot be decrypted", channel.pk)
        raise ApplicationError(
            "The stored credentials of this channel can no longer be read; enter them again.",
            code=ErrorCode.CONFLICT,
            status_code=status.HTTP_409_CONFLICT,
        ) from exc
    if channel.is_platform:
        check = get_provider(channel.provider).test_connection()
    else:
        check = _account_check(channel.provider, credentials)
    result = {
        "channel_id": str(channel.pk),
        "provider": channel.provider,
        "ok": check.ok,
        "detail": check.detail,
    }
    if not check.ok:
        if channel.is_platform:
            raise ApplicationError(
                f"The platform's {Provider(channel.provider).label} account did not answer as "
                f"expected: {check.detail}",
                code=ErrorCode.SMS_PROVIDER_UNAVAILABLE,
                status_code=status.HTTP_502_BAD_GATEWAY,
                details=result,
            )
        raise _credentials_refused(channel.provider, check)
    verified_at = timezone.now()
    Channel.objects.filter(pk=channel.pk, deleted_at__isnull=True).update(verified_at=verified_at)
    channel.verified_at = verified_at
    return {**result, "verified_at": verified_at}


def _platform_channel(tenant_id: uuid.UUID, provider: str, *, name: str = "") -> Channel:
    """The tenant's platform channel for `provider`, made on first use (under _lock); it is
    the default when the provider has none."""
    channel = Channel.objects.filter(
        tenant_id=tenant_id, provider=provider, is_platform=True
    ).first()
    if channel is None:
        label = Provider(provider).label
        channel = Channel.objects.create(
            tenant_id=tenant_id,
            provider=provider,
            is_platform=True,
            name=name or f"{label} (platform numbers)",
            is_default=not _has_default(tenant_id, provider),
        )
    return channel


@transaction.atomic
def channel_address_assign(
    *, tenant: "Tenant", provider: str, address: str, assigned_by: "User | None" = None
) -> ChannelAddress:
    """Attach a platform-owned address (a number, shortcode or sender ID of the platform's
    account at `provider`) to `tenant`: an address of its platform channel for that provider.
    Assigning it again to the same tenant changes nothing; an address another channel holds
    is a 409 CONFLICT; an unreadable address a 400 on `address`."""
    _provider_class(provider)
    try:
        kind, normalised = channel_address_normalise(address, region=tenant.country)
    except InvalidAddress as exc:
        raise field_error("address", str(exc)) from exc
    _lock(tenant.pk, provider)
    channel = _platform_channel(tenant.pk, provider)
    (row,) = _addresses_attach(channel, [(kind, normalised)], assigned_by=assigned_by)
    logger.info("%s %s assigned to tenant %s", provider, normalised, tenant.pk)
    return row


@transaction.atomic
def channel_address_release(*, address: ChannelAddress) -> None:
    """Take a platform-owned address back from its tenant. The addresses of a tenant's own
    account are the tenant's to remove (409 CONFLICT)."""
    channel = address.channel
    if not channel.is_platform:
        raise ApplicationError(
            f"{address.address} belongs to the tenant's own {channel.provider} account; "
            "the tenant removes it from the channel.",
            code=ErrorCode.CONFLICT,
            status_code=status.HTTP_409_CONFLICT,
        )
    _lock(channel.tenant_id, channel.provider)
    ChannelAddress.objects.filter(pk=address.pk).delete()
    logger.info(
        "%s %s released from tenant %s", address.provider, address.address, channel.tenant_id
    )


def _sandbox_number() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(%s)", [SANDBOX_SEQUENCE])
        (serial,) = cursor.fetchone()
    return f"+255{SANDBOX_NATIONAL_BASE + serial}"


@transaction.atomic
def _sandbox_channel_ensure(tenant_id: uuid.UUID) -> Channel:
    _lock(tenant_id, Provider.SANDBOX)
    channel = _platform_channel(tenant_id, Provider.SANDBOX, name="Sandbox")
    if channel.addresses.exists():
        return channel
    for _ in range(SANDBOX_ALLOCATION_ATTEMPTS):
        number = _sandbox_number()
        try:
            with transaction.atomic():
                ChannelAddress.objects.create(
                    channel=channel,
                    tenant_id=tenant_id,
                    provider=Provider.SANDBOX,
                    kind=Kind.NUMBER,
                    address=number,
                )
        except IntegrityError:  # an operator assigned this number by hand: take the next
            continue
        return channel
    raise RuntimeError(f"No free sandbox number after {SANDBOX_ALLOCATION_ATTEMPTS} attempts.")


def channel_sandbox_ensure(*, tenant: "Tenant") -> Channel:
    """The tenant's sandbox channel (a platform channel, the sandbox's default) with its own
    fake number, +255 7000 NNNNN, distinct from every other tenant's: made once, then the
    same channel and number every time."""
    return _sandbox_channel_ensure(tenant.pk)


def tenant_created_received(event: Event) -> None:
    """Subscriber to `tenant.created`: in development (the sandbox provider) every new tenant
    gets its sandbox number at once."""
    if settings.SMS_PROVIDER == Provider.SANDBOX:
        _sandbox_channel_ensure(uuid.UUID(event.payload["tenant_id"]))
