"""Who is calling: the principal, the cache of checked credentials, and what a tenant switched on.

How a request's credentials become a principal (reading memberships and API keys) is the
accounts domain's: `saas/accounts/credentials.py`. The tenant of every request comes from
there (the token or API key), never from a header that names a tenant.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, TypeVar

from sqlalchemy.orm import Session

from saas.auth.permissions import ROLES_SEEING_ALL_CUSTOMERS, Role, permissions_for

# How long a checked membership or API key is trusted before it is read again. Revocation
# in this process is immediate (`forget`); other processes see it within this bound.
CREDENTIAL_CACHE_SECONDS = 5.0

T = TypeVar("T")
_MISSING: Any = object()


@dataclass(frozen=True)
class Principal:
    tenant_id: uuid.UUID
    label: str
    permissions: frozenset[str]
    user_id: uuid.UUID | None = None
    membership_id: uuid.UUID | None = None
    role: Role | None = None
    api_key_id: uuid.UUID | None = None
    plugins: frozenset[str] = frozenset()
    scope: tuple[tuple[str, str], ...] = ()
    # The members of the teams this member manages (see `owner_visibility`), read with the credential.
    team_member_ids: frozenset[uuid.UUID] = frozenset()
    # What `derived` computed from this principal, by key: not a field of its identity (equality,
    # hash, repr), and not carried over by `dataclasses.replace` (a new principal starts empty).
    _derived: dict[Hashable, Any] = field(default_factory=dict, init=False, repr=False, compare=False, hash=False)

    def derived(self, key: Hashable, build: Callable[[Principal], T]) -> T:
        """`build(self)`, computed once per principal and `key` and then kept with it.

        For what depends on the principal's fields alone (a visibility rule's SQL and its
        parameters), so that a request signed in with a credential seen before (the credential
        cache answers the same principal) does not build it again. The fields never change
        (frozen), so the kept value stays right; `key` must name `build` (one key, one
        function); the value is shared by every request of the principal, so it must not be
        changed by its users (hand out copies of anything mutable)."""
        found = self._derived.get(key, _MISSING)
        if found is _MISSING:
            found = self._derived[key] = build(self)
        return found  # type: ignore[no-any-return]

    @cached_property
    def tenant_text(self) -> str:
        """`str(tenant_id)`, formatted once per principal: the tenant setting and parameter of
        every compiled read (`saas.db.reads.fetch_json`) and the log context. A principal is kept
        by the credential cache, so a request signed in with a credential seen before formats none."""
        return str(self.tenant_id)

    @property
    def sees_all_customers(self) -> bool:
        return self.role is None or self.role in ROLES_SEEING_ALL_CUSTOMERS

    def scoped(self, key: str) -> str | None:
        """The value a scoped token limits this principal to (e.g. a customer id), if any."""
        return dict(self.scope).get(key)


@dataclass
class CredentialCache:
    """Principals of credentials checked in the last `ttl_seconds`, by credential.

    An entry is answered until `clock()` passes its deadline, then the credential is read
    again; so a change made by another process is seen within `ttl_seconds`. Tests replace
    `clock` to pass that window without sleeping.
    """

    entries: dict[str, tuple[float, Principal]] = field(default_factory=dict)
    max_entries: int = 10_000
    ttl_seconds: float = CREDENTIAL_CACHE_SECONDS
    clock: Callable[[], float] = time.monotonic

    def get(self, key: str) -> Principal | None:
        hit = self.entries.get(key)
        if hit is None or hit[0] < self.clock():
            return None
        return hit[1]

    def put(self, key: str, principal: Principal) -> None:
        if len(self.entries) >= self.max_entries:
            self.entries.clear()
        self.entries[key] = (self.clock() + self.ttl_seconds, principal)

    def forget_tenant(self, tenant_id: uuid.UUID) -> None:
        for key in [k for k, (_, p) in self.entries.items() if p.tenant_id == tenant_id]:
            self.entries.pop(key, None)


class TenantFeatures(Protocol):
    """What a tenant switched on (its plugins), the permissions those add to a role, and
    whether they still vouch for a scoped token (e.g. its portal access was not revoked)."""

    def enabled(self, session: Session) -> frozenset[str]: ...

    def permissions(self, role: Role, enabled: frozenset[str]) -> frozenset[str]: ...

    def scoped_token_stands(self, session: Session, principal: Principal) -> bool: ...


class CoreFeatures:
    """No plugins: the core's roles and permissions only."""

    def enabled(self, session: Session) -> frozenset[str]:
        return frozenset()

    def permissions(self, role: Role, enabled: frozenset[str]) -> frozenset[str]:
        return permissions_for(role)

    def scoped_token_stands(self, session: Session, principal: Principal) -> bool:
        return True


# A core domain's say on a scoped token, asked in the credential check's session (tenant-bound).
ScopeCheck = Callable[[Session, Principal], bool]


@dataclass(frozen=True)
class WithScopeChecks:
    """`features`, with the core domains' checks of scoped tokens asked first.

    The domains that own what a scope names supply the checks (the customers domain: the
    customer and contact still exist), and the runtime hands them to the credential check
    through this, so the credential path (accounts) needs no import of those domains."""

    features: TenantFeatures
    checks: tuple[ScopeCheck, ...]

    def enabled(self, session: Session) -> frozenset[str]:
        return self.features.enabled(session)

    def permissions(self, role: Role, enabled: frozenset[str]) -> frozenset[str]:
        return self.features.permissions(role, enabled)

    def scoped_token_stands(self, session: Session, principal: Principal) -> bool:
        return all(check(session, principal) for check in self.checks) and self.features.scoped_token_stands(
            session, principal
        )
