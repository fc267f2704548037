"""How a request's credentials become a principal: tokens, API keys and scoped tokens, checked
against the memberships and keys they name; and how a change to those ends the cached ones.

The tenant of every request comes from here (the token or API key), never from a header
that names a tenant. Checked credentials are kept in the runtime's `CredentialCache` for a
few seconds; a change that ends or narrows credentials (a member removed or given another
role, a key revoked) calls `forget_credentials_after_commit`, so the cache of the process
that made the change forgets the tenant's credentials once the change is committed, whoever
made it (a mutation, the CLI, a job). Other processes see it within the cache's window.
"""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from functools import partial

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from saas.accounts.models import ApiKey, Membership, Tenant
from saas.accounts.ownership import managed_member_ids
from saas.audit.access import record_api_key_use
from saas.auth import api_keys
from saas.auth.permissions import Role
from saas.auth.principal import CoreFeatures, CredentialCache, Principal, TenantFeatures
from saas.auth.tokens import SCOPED_PREFIX, TokenClaims, read_scoped_token, read_token
from saas.config import Settings
from saas.errors import UnauthenticatedError
from saas.tenancy.session import on_commit, tenant_session

API_KEY_USE_RESOLUTION = timedelta(minutes=1)
# The engine execution option that names the credential cache of the runtime owning the engine.
CREDENTIAL_CACHE_OPTION = "saas_credential_cache"


def bind_credential_cache(engine: Engine, cache: CredentialCache) -> None:
    """Make `cache` the one that changes made through `engine`'s sessions invalidate (the runtime
    does it for its engine), so that services need no handle on the runtime."""
    engine.update_execution_options(**{CREDENTIAL_CACHE_OPTION: cache})


def forget_credentials_after_commit(session: Session, tenant_id: uuid.UUID) -> None:
    """Once the session's transaction commits, the credential cache bound to its engine forgets
    the tenant's credentials (nothing when the engine has none bound, or on rollback)."""
    cache = session.get_bind().get_execution_options().get(CREDENTIAL_CACHE_OPTION)
    if isinstance(cache, CredentialCache):
        on_commit(session, partial(cache.forget_tenant, tenant_id))


def _refuse_deleted_tenant(session: Session, tenant_id: uuid.UUID) -> None:
    """A deleted tenant's credentials are all refused, from the commit that deleted it on."""
    if session.scalar(select(Tenant.deleted_at).where(Tenant.id == tenant_id)) is not None:
        raise UnauthenticatedError("This tenant was deleted")


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
        _refuse_deleted_tenant(session, claims.tenant_id)
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
        _refuse_deleted_tenant(session, parsed.tenant_id)
        record = session.get(ApiKey, (parsed.tenant_id, parsed.key_id))
        if (
            record is None
            or record.revoked_at is not None
            or not api_keys.secret_matches(record.secret_hash, parsed.secret)
        ):
            raise UnauthenticatedError("Invalid API key")
        principal = Principal(
            tenant_id=record.tenant_id,
            label=f"api-key:{record.name}",
            permissions=frozenset(record.scopes),
            api_key_id=record.id,
            plugins=features.enabled(session),
        )
        _note_use(session, record, principal)
    cache.put(key, principal)
    return principal


def principal_from_scoped_token(
    engine: Engine, settings: Settings, cache: CredentialCache, token: str, features: TenantFeatures
) -> Principal:
    """The principal of a scoped token that still stands; `UnauthenticatedError` otherwise.

    Checked here, where every credential is checked, so that a token that no longer stands is
    refused by every field, core and plugin, within the cache window: the plugin that issued
    it must be enabled for the tenant, and the tenant's features must still vouch for it
    (`features.scoped_token_stands`, read in the token's tenant). The runtime's features ask
    the core domains first (the customers domain: the customer and contact it names exist
    undeleted), then every enabled plugin (`saas_check_scoped_token`, e.g. its portal access
    was revoked).
    """
    claims = read_scoped_token(settings, token)
    key = f"{SCOPED_CACHE_PREFIX}{api_keys.digest(token)}"
    cached = cache.get(key)
    if cached is not None:
        return cached
    with tenant_session(engine, claims.tenant_id) as session:
        _refuse_deleted_tenant(session, claims.tenant_id)
        principal = Principal(
            tenant_id=claims.tenant_id,
            label=f"scoped:{claims.subject}",
            permissions=claims.permissions,
            plugins=features.enabled(session),
            scope=claims.scope,
        )
        if claims.plugin is not None and claims.plugin not in principal.plugins:
            raise UnauthenticatedError("The plugin that issued this token is not enabled")
        if not features.scoped_token_stands(session, principal):
            raise UnauthenticatedError("This token was revoked")
    cache.put(key, principal)
    return principal


def _note_use(session: Session, record: ApiKey, principal: Principal) -> None:
    """Keep `last_used_at` within a minute of the truth without a write per request, and audit
    the use each time it moves: at most once per key per minute (`saas.audit.access`)."""
    now = datetime.now(UTC)
    if record.last_used_at is None or now - record.last_used_at > API_KEY_USE_RESOLUTION:
        record.last_used_at = now
        record_api_key_use(session, principal, record.id)


API_KEY_CACHE_PREFIX = "k:"
SCOPED_CACHE_PREFIX = "s:"


def member_cache_key(claims: TokenClaims) -> str:
    """`m:` and the token's tenant, user, membership and generation (`TokenClaims.member_key`)."""
    return claims.member_key


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
    features: TenantFeatures,
) -> Principal | None:
    """Turn an `Authorization` header value into a principal; `None` when there is none.

    `features` answers for the tenant (the runtime's: its plugins, and the core domains'
    checks of scoped tokens, `WithScopeChecks`)."""
    credential = _bearer(authorization)
    if credential is None:
        return None
    if credential.startswith(api_keys.KEY_PREFIX):
        return principal_from_api_key(engine, cache, credential, features)
    if credential.startswith(SCOPED_PREFIX):
        return principal_from_scoped_token(engine, settings, cache, credential, features)
    return principal_from_token(engine, settings, cache, credential, features)
