"""Who is calling: the principal, and how a request's credentials become one.

The tenant of every request comes from here (the token or API key), never from a header
that names a tenant.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from saas.auth import api_keys
from saas.auth.permissions import ROLES_SEEING_ALL_CUSTOMERS, Role, permissions_for
from saas.auth.tokens import SCOPED_PREFIX, TokenClaims, read_scoped_token, read_token
from saas.config import Settings
from saas.customers.models import Contact, Customer
from saas.errors import UnauthenticatedError
from saas.teams.rules import managed_member_ids
from saas.tenancy.models import ApiKey, Membership
from saas.tenancy.session import tenant_session

# How long a checked membership or API key is trusted before it is read again. Revocation
# in this process is immediate (`forget`); other processes see it within this bound.
CREDENTIAL_CACHE_SECONDS = 5.0
API_KEY_USE_RESOLUTION = timedelta(minutes=1)


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


def membership_principal(
    membership: Membership, features: TenantFeatures | None = None, enabled: frozenset[str] = frozenset()
) -> Principal:
    role = Role(membership.role)
    return Principal(
        tenant_id=membership.tenant_id,
        label=membership.user.email,
        permissions=(features or CoreFeatures()).permissions(role, enabled),
        user_id=membership.user_id,
        membership_id=membership.id,
        role=role,
        plugins=enabled,
    )


def principal_from_token(
    engine: Engine, settings: Settings, cache: CredentialCache, token: str, features: TenantFeatures
) -> Principal:
    claims = read_token(settings, token)
    key = member_cache_key(claims)
    cached = cache.get(key)
    if cached is not None:
        return cached
    with tenant_session(engine, claims.tenant_id) as session:
        membership = session.scalar(
            select(Membership).where(Membership.id == claims.membership_id, Membership.user_id == claims.user_id)
        )
        if (
            membership is None
            or not membership.is_active
            or membership.token_generation != claims.generation
            or not membership.user.is_active
        ):
            raise UnauthenticatedError("Membership no longer active")
        principal = membership_principal(membership, features, features.enabled(session))
        principal = replace(principal, team_member_ids=managed_member_ids(session, membership.id))
    cache.put(key, principal)
    return principal


def principal_from_api_key(engine: Engine, cache: CredentialCache, raw_key: str, features: TenantFeatures) -> Principal:
    parsed = api_keys.parse_key(raw_key)
    key = f"{API_KEY_CACHE_PREFIX}{api_keys.digest(raw_key)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    with tenant_session(engine, parsed.tenant_id) as session:
        record = session.get(ApiKey, (parsed.tenant_id, parsed.key_id))
        if record is None or record.revoked_at is not None or not api_keys.verify(record, parsed.secret):
            raise UnauthenticatedError("Invalid API key")
        _note_use(record)
        principal = Principal(
            tenant_id=record.tenant_id,
            label=f"api-key:{record.name}",
            permissions=frozenset(record.scopes),
            api_key_id=record.id,
            plugins=features.enabled(session),
        )
    cache.put(key, principal)
    return principal


def principal_from_scoped_token(
    engine: Engine, settings: Settings, cache: CredentialCache, token: str, features: TenantFeatures
) -> Principal:
    """The principal of a scoped token that still stands; `UnauthenticatedError` otherwise.

    Checked here, where every credential is checked, so that a token that no longer stands is
    refused by every field, core and plugin, within the cache window: the plugin that issued
    it must be enabled for the tenant, the customer and contact it names must exist undeleted
    (read in the token's tenant), and no enabled plugin may refuse it
    (`saas_check_scoped_token`, e.g. its portal access was revoked).
    """
    claims = read_scoped_token(settings, token)
    key = f"{SCOPED_CACHE_PREFIX}{api_keys.digest(token)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    with tenant_session(engine, claims.tenant_id) as session:
        principal = Principal(
            tenant_id=claims.tenant_id,
            label=f"scoped:{claims.subject}",
            permissions=claims.permissions,
            plugins=features.enabled(session),
            scope=claims.scope,
        )
        if claims.plugin is not None and claims.plugin not in principal.plugins:
            raise UnauthenticatedError("The plugin that issued this token is not enabled")
        if not _scope_stands(session, dict(claims.scope)) or not features.scoped_token_stands(session, principal):
            raise UnauthenticatedError("This token was revoked")
    cache.put(key, principal)
    return principal


def _scope_stands(session: Session, scope: dict[str, str]) -> bool:
    """The customer (`customer_id`) and contact (`contact_id`, of that customer) a scope names
    exist and are not deleted; the session's tenant filter keeps other tenants' rows out."""
    try:
        customer_id = uuid.UUID(scope["customer_id"]) if "customer_id" in scope else None
        contact_id = uuid.UUID(scope["contact_id"]) if "contact_id" in scope else None
    except ValueError:
        return False
    if customer_id is not None:
        live = select(Customer.id).where(Customer.id == customer_id, Customer.deleted_at.is_(None))
        if session.scalar(live) is None:
            return False
    if contact_id is not None:
        contact = select(Contact.id).where(Contact.id == contact_id, Contact.deleted_at.is_(None))
        if customer_id is not None:
            contact = contact.where(Contact.customer_id == customer_id)
        if session.scalar(contact) is None:
            return False
    return True


def _note_use(record: ApiKey) -> None:
    """Keep `last_used_at` within a minute of the truth without a write per request."""
    now = datetime.now(UTC)
    if record.last_used_at is None or now - record.last_used_at > API_KEY_USE_RESOLUTION:
        record.last_used_at = now


API_KEY_CACHE_PREFIX = "k:"
SCOPED_CACHE_PREFIX = "s:"


def member_cache_key(claims: TokenClaims) -> str:
    return f"m:{claims.tenant_id}:{claims.user_id}:{claims.membership_id}:{claims.generation}"


def _bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    credential = credential.strip()
    if scheme.lower() != "bearer" or not credential:
        raise UnauthenticatedError("Use the Authorization header: Bearer <token or API key>")
    return credential


def cached_principal(settings: Settings, cache: CredentialCache, authorization: str | None) -> Principal | None:
    """The principal of a credential checked within the cache window, without I/O; else None
    (then `authenticate`, which may read the database, decides)."""
    try:
        credential = _bearer(authorization)
        if credential is None:
            return None
        if credential.startswith(api_keys.KEY_PREFIX):
            return cache.get(f"{API_KEY_CACHE_PREFIX}{api_keys.digest(credential)}")
        if credential.startswith(SCOPED_PREFIX):
            read_scoped_token(settings, credential)  # expiry is checked on every request
            return cache.get(f"{SCOPED_CACHE_PREFIX}{api_keys.digest(credential)}")
        return cache.get(member_cache_key(read_token(settings, credential)))
    except UnauthenticatedError:
        return None


def credential_expiry(settings: Settings, authorization: str | None) -> int | None:
    """When the credential stops working by itself: a token's `exp` (seconds since the epoch).

    None when there is no credential or it never expires (an API key, which ends only when
    revoked). Raises `UnauthenticatedError` for a token that does not read."""
    credential = _bearer(authorization)
    if credential is None or credential.startswith(api_keys.KEY_PREFIX):
        return None
    if credential.startswith(SCOPED_PREFIX):
        return read_scoped_token(settings, credential).expires_at
    return read_token(settings, credential).expires_at


def authenticate(
    engine: Engine,
    settings: Settings,
    cache: CredentialCache,
    authorization: str | None,
    features: TenantFeatures | None = None,
) -> Principal | None:
    """Turn an `Authorization` header value into a principal; `None` when there is none."""
    credential = _bearer(authorization)
    if credential is None:
        return None
    features = features or CoreFeatures()
    if credential.startswith(api_keys.KEY_PREFIX):
        return principal_from_api_key(engine, cache, credential, features)
    if credential.startswith(SCOPED_PREFIX):
        return principal_from_scoped_token(engine, settings, cache, credential, features)
    return principal_from_token(engine, settings, cache, credential, features)
