"""Outbound HTTP to URLs that tenants give us (webhooks, feeds): never inside our network; failures as classes.

The rule (SPEC §3): an outbound call never reaches a loopback, link-local, private, shared,
multicast, reserved or unspecified address — IPv4 or IPv6, also when an IPv6 address carries an
IPv4 one (IPv4-mapped, 6to4, NAT64) — unless the deployment allows it
(`WEBHOOK_ALLOW_PRIVATE_NETWORKS`, `Settings.allow_private_networks`). It holds because:
- `post` and `get` resolve the host name themselves, refuses the request if any address it resolves to is
  internal, and connects to the address it checked (the URL's host is kept for the `Host`
  header, TLS server name and certificate check). There is no second lookup for a DNS server
  to answer differently (DNS rebinding), redirects are not followed, and proxies from the
  environment are not used.
- `reaches_internal` applies the same test when a URL is stored, so that a mistake is
  reported at once; a name that does not resolve yet is accepted then and checked at sending.

What the caller learns of a failure is a class (`Failure`), never the resolver's or the
socket's text: a tenant admin reading the delivery log cannot probe our network with it.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass
from enum import StrEnum
from ipaddress import IPv4Address, IPv6Address, IPv6Network, ip_address

import httpx

IPAddress = IPv4Address | IPv6Address

# NAT64 prefixes: the last 32 bits are an IPv4 address a translator would reach.
NAT64_WELL_KNOWN = IPv6Network("64:ff9b::/96")
NAT64_LOCAL_USE = IPv6Network("64:ff9b:1::/48")


class Failure(StrEnum):
    """Why a request got no 2xx answer, as the delivery log says it (with `HTTP <status>`)."""

    ADDRESS_NOT_ALLOWED = "address not allowed"
    HOST_NOT_FOUND = "host not found"
    TIMEOUT = "timeout"
    CONNECTION_REFUSED = "connection refused"
    CONNECTION_FAILED = "connection failed"
    TLS = "TLS error"
    PROTOCOL = "invalid HTTP response"
    INVALID_URL = "invalid URL"
    TOO_LARGE = "answer too large"


def http_status_failure(status_code: int) -> str:
    return f"HTTP {status_code}"


def is_internal(address: IPAddress) -> bool:
    """True for every address that is not plainly on the public internet (see the module docstring)."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return is_internal(address.ipv4_mapped)
        if address in NAT64_LOCAL_USE:
            return True
        embedded = [address.sixtofour, *(address.teredo or ())]
        if address in NAT64_WELL_KNOWN:
            embedded.append(IPv4Address(int(address) & 0xFFFFFFFF))
        if any(inner is not None and is_internal(inner) for inner in embedded):
            return True
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
        or not address.is_global
    )


def resolve(host: str, port: int) -> list[IPAddress]:
    """The addresses `host` resolves to (a literal address resolves to itself); `OSError` if none."""
    found: list[IPAddress] = []
    for *_, sockaddr in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM):
        address = ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in found:
            found.append(address)
    if not found:
        raise OSError(f"{host} has no address")
    return found


def reaches_internal(host: str, port: int) -> bool:
    """Does `host` name an internal address or resolve to one? A name that does not resolve does not."""
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        return False
    return any(is_internal(address) for address in addresses)


@dataclass(frozen=True)
class Answer:
    """What came back: the status code (None without an answer) and the failure, None for a 2xx."""

    status_code: int | None
    failure: str | None


def _caused_by(exc: BaseException, kind: type[BaseException]) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, kind):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def classify(exc: httpx.HTTPError) -> Failure:
    """The class of a transport failure (the exception's own text is never shown)."""
    if isinstance(exc, httpx.TimeoutException):
        return Failure.TIMEOUT
    if _caused_by(exc, ssl.SSLError):
        return Failure.TLS
    if _caused_by(exc, ConnectionRefusedError):
        return Failure.CONNECTION_REFUSED
    if isinstance(exc, httpx.ProtocolError):
        return Failure.PROTOCOL
    if isinstance(exc, httpx.UnsupportedProtocol):
        return Failure.INVALID_URL
    return Failure.CONNECTION_FAILED


def post(url: str, *, content: bytes, headers: dict[str, str], timeout: float, allow_private: bool) -> Answer:
    """POST `content` to `url` through the checked address (module docstring); never raises for the network."""
    answer, _ = _send("POST", url, content=content, headers=headers, timeout=timeout, allow_private=allow_private)
    return answer


@dataclass(frozen=True)
class Fetched:
    """A GET's answer (as `Answer`) and, for a 2xx within the size limit, its body."""

    status_code: int | None
    failure: str | None
    body: bytes = b""


def get(url: str, *, timeout: float, allow_private: bool, max_bytes: int) -> Fetched:
    """GET `url` through the checked address (module docstring); a body over `max_bytes` is the
    failure `too large` (reading stops there). Never raises for the network."""
    answer, body = _send("GET", url, content=None, headers={}, timeout=timeout, allow_private=allow_private,
                         max_bytes=max_bytes)  # fmt: skip
    return Fetched(answer.status_code, answer.failure, body)


def _send(
    method: str,
    url: str,
    *,
    content: bytes | None,
    headers: dict[str, str],
    timeout: float,
    allow_private: bool,
    max_bytes: int = 0,
) -> tuple[Answer, bytes]:
    try:
        target = httpx.URL(url)
    except httpx.InvalidURL:
        return Answer(None, Failure.INVALID_URL), b""
    if target.scheme not in ("http", "https") or not target.host:
        return Answer(None, Failure.INVALID_URL), b""
    host = target.raw_host.decode("ascii")  # an international name in its IDNA form
    port = target.port or (443 if target.scheme == "https" else 80)
    try:
        addresses = resolve(host, port)
    except (OSError, UnicodeError, ValueError):
        return Answer(None, Failure.HOST_NOT_FOUND), b""
    if not allow_private and any(is_internal(address) for address in addresses):
        return Answer(None, Failure.ADDRESS_NOT_ALLOWED), b""
    pinned = target.copy_with(host=str(addresses[0]))
    extensions = {"sni_hostname": host} if _is_name(host) else {}
    request_headers = {**headers, "Host": target.netloc.decode("ascii")}
    body = bytearray()
    try:
        with httpx.Client(trust_env=False, follow_redirects=False, timeout=timeout) as client:
            request = client.build_request(
                method, pinned, content=content, headers=request_headers, extensions=extensions
            )
            response = client.send(request, stream=True)
            try:
                if max_bytes and 200 <= response.status_code < 300:
                    for part in response.iter_bytes():
                        body += part
                        if len(body) > max_bytes:
                            return Answer(response.status_code, Failure.TOO_LARGE), b""
            finally:
                response.close()
    except httpx.HTTPError as exc:
        return Answer(None, classify(exc)), b""
    code = response.status_code
    return Answer(code, None if 200 <= code < 300 else http_status_failure(code)), bytes(body)


def _is_name(host: str) -> bool:
    try:
        ip_address(host)
    except ValueError:
        return True
    return False
