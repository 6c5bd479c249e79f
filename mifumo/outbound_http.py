"""The one HTTP client for calling customer URLs (webhook endpoints, a send's webhook_url).

A customer chooses the URL, so every call is checked against SSRF: only http and https; the
host is resolved and refused when any of its addresses is loopback, private, link-local (the
169.254.169.254 metadata address included), unspecified, multicast, reserved or otherwise not
public (IPv4 embedded in IPv6 is checked too), unless settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS.
The connection then goes to the address that was checked, not to a second DNS answer (no DNS
rebinding), while the Host header, TLS SNI and certificate check keep the URL's host name.
Redirects are never followed (a 3xx is just a non-2xx answer), environment proxies are never
used, and each call times out after settings.WEBHOOK_TIMEOUT_SECONDS.
"""

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from http.client import HTTPException
from typing import cast

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.exceptions import LocationParseError
from urllib3.util import parse_url

USER_AGENT = "Mifumo-Webhooks/1.0"
_DEFAULT_PORTS = {"http": 80, "https": 443}
# NAT64 (RFC 6052) addresses carry an IPv4 address that a gateway would reach.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_Address = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(Exception):
    """A URL Mifumo will not call: not http(s), no host, or a host on a non-public network."""


class _TargetUnresolved(Exception):
    """The host has no address right now (DNS failure); it may have one later."""


@dataclass(frozen=True, slots=True)
class OutboundResponse:
    """What one call gave: the answer's status (None when there was no answer), how long it
    took, and what went wrong ('' for a 2xx)."""

    status_code: int | None
    duration_ms: int
    error: str = ""

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True, slots=True)
class _Target:
    scheme: str
    host: str  # as in the URL, IPv6 literals without brackets
    port: int
    address: str  # the checked address the connection goes to

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == _DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"


def _embedded_ipv4(address: _Address) -> list[ipaddress.IPv4Address]:
    if address.version == 4:
        return []
    embedded = [address.ipv4_mapped, address.sixtofour, address.teredo and address.teredo[1]]
    if address in _NAT64:
        embedded.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [ipv4 for ipv4 in embedded if ipv4]


def _is_public(address: _Address) -> bool:
    for candidate in [address, *_embedded_ipv4(address)]:
        if (
            candidate.is_loopback
            or candidate.is_private
            or candidate.is_link_local
            or candidate.is_unspecified
            or candidate.is_multicast
            or candidate.is_reserved
            or not candidate.is_global
        ):
            return False
    return True


def _parse(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) as requests itself reads the URL, so the host checked is the one
    requests would call."""
    try:
        scheme = (parse_url(url).scheme or "").lower() if isinstance(url, str) else ""
    except LocationParseError as exc:
        raise TargetRefused("Enter a valid http:// or https:// URL.") from exc
    if scheme not in _DEFAULT_PORTS:
        raise TargetRefused("Only http:// and https:// URLs can be called.")
    try:
        parsed = parse_url(cast(str, requests.Request("POST", url).prepare().url))
    except (requests.RequestException, LocationParseError, ValueError) as exc:
        raise TargetRefused("Enter a valid http:// or https:// URL.") from exc
    host = (parsed.host or "").strip("[]")
    if not host:
        raise TargetRefused("The URL has no host.")
    return scheme, host, parsed.port or _DEFAULT_PORTS[scheme]


def _resolve(host: str, port: int) -> list[_Address]:
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise _TargetUnresolved(f"Could not resolve {host}.") from exc
    addresses = []
    for *_, sockaddr in infos:
        address = ipaddress.ip_address(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    if not addresses:
        raise _TargetUnresolved(f"Could not resolve {host}.")
    return addresses


def _checked_target(url: str) -> _Target:
    scheme, host, port = _parse(url)
    addresses = _resolve(host, port)
    if not settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        refused = [str(address) for address in addresses if not _is_public(address)]
        if refused:
            where = f"{host} is" if refused == [host] else f"{host} resolves to {refused[0]},"
            raise TargetRefused(
                f"{where} a loopback, private, link-local or reserved address; only public "
                "addresses can be called."
            )
    return _Target(scheme=scheme, host=host, port=port, address=str(addresses[0]))


def check_target(url: str) -> None:
    """Raise TargetRefused when `url` may not be called.

    A host that does not resolve now is not refused: DNS may not be set up yet, and every
    call checks again (post_json) before connecting.
    """
    if settings.WEBHOOKS_ALLOW_PRIVATE_TARGETS:
        _parse(url)
        return
    try:
        _checked_target(url)
    except _TargetUnresolved:
        return


class _PinnedAdapter(HTTPAdapter):
    """Connects to the address a request was checked against (`request.mifumo_target`),
    keeping the URL's host name for TLS SNI and the certificate check."""

    def get_connection_with_tls_context(self, request, verify, proxies=None, cert=None):
        target: _Target | None = getattr(request, "mifumo_target", None)
        if target is None:
            raise TargetRefused("Only a checked request can be sent.")
        _, pool_kwargs = self.build_connection_pool_key_attributes(request, verify, cert)
        if target.scheme == "https":
            pool_kwargs = {
                **pool_kwargs,
                "server_hostname": target.host,
                "assert_hostname": target.host,
            }
        return self.poolmanager.connection_from_host(
            scheme=target.scheme, host=target.address, port=target.port, pool_kwargs=pool_kwargs
        )


_local = threading.local()


def _session() -> requests.Session:
    """One session per thread: sessions are not thread-safe, and building one per call is waste.
    Connections are not kept (bodies are not read), so each call connects to its checked address."""
    session = getattr(_local, "session", None)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # never through an environment proxy, which would skip the pin
        adapter = _PinnedAdapter()
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _local.session = session
    return session


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def post_json(url: str, body: bytes, headers: dict[str, str]) -> OutboundResponse:
    """POST a JSON `body` to `url`; never raises for a refused target or a network error."""
    started = time.monotonic()
    timeout = settings.WEBHOOK_TIMEOUT_SECONDS
    try:
        target = _checked_target(url)
        session = _session()
        request = session.prepare_request(
            requests.Request(
                "POST",
                url,
                data=body,
                headers={"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers},
            )
        )
        request.headers["Host"] = target.host_header
        request.mifumo_target = target  # type: ignore[attr-defined]  # read by _PinnedAdapter
        # Only the status matters; the body is not read, so a slow or huge one costs nothing.
        with session.send(
            request, timeout=timeout, allow_redirects=False, stream=True, verify=True
        ) as response:
            status_code = response.status_code
    except TargetRefused as exc:
        return OutboundResponse(None, _elapsed_ms(started), f"Refused: {exc}")
    except _TargetUnresolved as exc:
        return OutboundResponse(None, _elapsed_ms(started), str(exc))
    except requests.Timeout:
        return OutboundResponse(None, _elapsed_ms(started), f"Timed out after {timeout:g} s.")
    except (requests.RequestException, HTTPException, OSError, ValueError) as exc:
        error = f"Connection failed: {type(exc).__name__}: {exc}"[:500]
        return OutboundResponse(None, _elapsed_ms(started), error)
    duration = _elapsed_ms(started)
    if 200 <= status_code < 300:
        return OutboundResponse(status_code, duration)
    if 300 <= status_code < 400:
        return OutboundResponse(
            status_code, duration, f"HTTP {status_code} (redirects are not followed)"
        )
    return OutboundResponse(status_code, duration, f"HTTP {status_code}")
