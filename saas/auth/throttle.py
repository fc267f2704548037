"""Throttling failed sign-ins in Redis: logins per account and tenant, every failure per client address.

Guarantees:
- After `THROTTLE_ACCOUNT_FAILURES` failed logins for one e-mail and tenant slug (as given,
  whether or not they exist) within `THROTTLE_WINDOW_SECONDS`, every login for them is refused
  with `RATE_LIMITED` and `retryAfter` until the oldest of those failures leaves the window:
  a moving window (the `limits` library's, a Lua script on a Redis list), not a fixed one, so
  no burst fits across a window boundary. The right password does not help meanwhile.
- Failed logins and refused API keys and tokens all count against the client's address
  (`THROTTLE_ADDRESS_FAILURES` in the same window); once over, the address's logins and its
  credentials not already checked are refused the same way.
- A refused attempt is refused before any lookup or password hash, and an unknown account
  is counted exactly like a known one: the answer never tells whether an account exists.
- Only failures are counted: a user who signs in correctly is never slowed down.
- Attempts that pass the check concurrently may overshoot the limit by how many run at once
  (bounded by the password-hashing slots); failures beyond the limit are not stored.
- Redis unavailable: the throttle lets attempts through (logged); the password-hashing bound
  still limits the cost of each one.
- The campaign inbound endpoint (`POST /campaigns/inbound/<token>`) counts every request, not
  only failures, per token and per client address (`INBOUND_PER_TOKEN_PER_MINUTE`,
  `INBOUND_PER_ADDRESS_PER_MINUTE`, one-minute moving windows): `inbound_retry_after`.
"""

from __future__ import annotations

import hashlib
import ipaddress
import logging
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass

import jwt
import redis
from limits import RateLimitItem, RateLimitItemPerSecond
from limits.errors import StorageError
from limits.storage import RedisStorage
from limits.strategies import MovingWindowRateLimiter

from saas.config import Settings
from saas.errors import CredentialRateLimitedError, RateLimitedError, UnauthenticatedError

log = logging.getLogger(__name__)

KEY_PREFIX = "saas:throttle"
# IPv6 clients usually hold a whole /64: throttling single addresses there would throttle nothing.
IPV6_PREFIX_LENGTH = 64

_client_address: ContextVar[str | None] = ContextVar("client_address", default=None)


def bind_client_address(host: str | None) -> Token[str | None]:
    """Name the client of the current request (the HTTP middleware does, for HTTP and WebSocket)."""
    return _client_address.set(host)


def unbind_client_address(token: Token[str | None]) -> None:
    _client_address.reset(token)


def client_address() -> str | None:
    """The current request's client address; None outside a request (CLI, jobs, in-process tests)."""
    return _client_address.get()


def address_key(host: str) -> str:
    """What one client's failures are counted under: the IPv4 address, or the IPv6 /64 network."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host  # not an IP (e.g. a Unix socket's peer): counted as it is
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is None:
        return str(ipaddress.ip_network(f"{ip}/{IPV6_PREFIX_LENGTH}", strict=False))
    return str(ip.ipv4_mapped if isinstance(ip, ipaddress.IPv6Address) else ip)


def account_key(email: str, tenant_slug: str) -> str:
    """The login's account as typed (normalised as login normalises it), hashed: no e-mail in Redis."""
    return hashlib.sha256(f"{tenant_slug.strip().lower()}\n{email.strip().lower()}".encode()).hexdigest()


def _guessed(error: UnauthenticatedError) -> bool:
    """Whether a refused credential may be a guess. An expired token carries our signature:
    its holder guessed nothing, and a client polling with one must not lock out its address."""
    return not isinstance(error.__cause__, jwt.ExpiredSignatureError)


@dataclass(frozen=True)
class _Limit:
    item: RateLimitItem
    identifier: str


class SignInThrottle:
    """Counts failed sign-ins in Redis (moving windows) and refuses those that failed too often."""

    def __init__(self, client: redis.Redis, redis_url: str, settings: Settings, *, key_prefix: str = KEY_PREFIX):
        storage = RedisStorage(
            redis_url, connection_pool=client.connection_pool, key_prefix=key_prefix, wrap_exceptions=True
        )
        self.limiter = MovingWindowRateLimiter(storage)
        window = settings.throttle_window_seconds
        self.per_account = RateLimitItemPerSecond(settings.throttle_account_failures, window, namespace="login")
        self.per_address = RateLimitItemPerSecond(settings.throttle_address_failures, window, namespace="address")
        self.inbound_per_token = RateLimitItemPerSecond(
            settings.inbound_per_token_per_minute, 60, namespace="inbound-token"
        )
        self.inbound_per_address = RateLimitItemPerSecond(
            settings.inbound_per_address_per_minute, 60, namespace="inbound-address"
        )

    def inbound_retry_after(self, token: str, address: str | None) -> int | None:
        """Count one inbound request against its token and its client's address; the seconds to
        wait when either is over its limit (the request is then refused), else None."""
        limits = [_Limit(self.inbound_per_token, hashlib.sha256(token.encode()).hexdigest())]
        if address is not None:
            limits.append(_Limit(self.inbound_per_address, address_key(address)))
        waits = []
        try:
            for limit in limits:
                if not self.limiter.hit(limit.item, limit.identifier):
                    reset_at = self.limiter.get_window_stats(limit.item, limit.identifier).reset_time
                    waits.append(max(1, math.ceil(reset_at - time.time())))
        except (StorageError, redis.RedisError):
            log.warning("inbound rate limit unavailable (Redis); letting the request through", exc_info=True)
            return None
        return max(waits) if waits else None

    def _limits(self, account: str | None, address: str | None) -> list[_Limit]:
        limits = []
        if account is not None:
            limits.append(_Limit(self.per_account, account))
        if address is not None:
            limits.append(_Limit(self.per_address, address_key(address)))
        return limits

    def retry_after(self, *, account: str | None = None, address: str | None = None) -> int | None:
        """Seconds until an attempt for this account and address is allowed again; None if it is now."""
        waits = []
        try:
            for limit in self._limits(account, address):
                if not self.limiter.test(limit.item, limit.identifier):
                    reset_at = self.limiter.get_window_stats(limit.item, limit.identifier).reset_time
                    waits.append(max(1, math.ceil(reset_at - time.time())))
        except (StorageError, redis.RedisError):
            log.warning("sign-in throttle unavailable (Redis); letting the attempt through", exc_info=True)
            return None
        return max(waits) if waits else None

    def check(
        self,
        *,
        account: str | None = None,
        address: str | None = None,
        error: type[RateLimitedError] = RateLimitedError,
    ) -> None:
        """Raise `error` (RATE_LIMITED, with `retryAfter`) if the account or the address failed too often."""
        wait = self.retry_after(account=account, address=address)
        if wait is not None:
            raise error("Too many failed attempts; try again later", retry_after=wait)

    def failed(self, *, account: str | None = None, address: str | None = None) -> None:
        """Count one failure against the account and the address."""
        try:
            for limit in self._limits(account, address):
                self.limiter.hit(limit.item, limit.identifier)
        except (StorageError, redis.RedisError):
            log.warning("sign-in throttle unavailable (Redis); a failure was not counted", exc_info=True)

    @contextmanager
    def credential_check(self, address: str | None) -> Iterator[None]:
        """Around the check of an API key or token: refused up front if the address failed too
        often (`CredentialRateLimitedError`, refused like a bad credential), counted if refused."""
        if address is None:
            yield
            return
        self.check(address=address, error=CredentialRateLimitedError)
        try:
            yield
        except UnauthenticatedError as refused:
            if _guessed(refused):
                self.failed(address=address)
            raise
