"""Credentials plugins hand out: scoped tokens for people who are not members (e.g. portal contacts),
and API keys for systems limited to a plugin's own scope (e.g. a supplier's integration)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from sqlalchemy.orm import Session

from saas.accounts import api_keys
from saas.auth.principal import Principal
from saas.auth.tokens import issue_scoped_token as _issue
from saas.schema.context import RequestContext

DEFAULT_SCOPED_TTL_SECONDS = 30 * 24 * 3600


def issue_scoped_token(
    context: RequestContext,
    subject: str,
    permissions: frozenset[str],
    scope: dict[str, str],
    ttl_seconds: int = DEFAULT_SCOPED_TTL_SECONDS,
    plugin: str | None = None,
) -> str:
    """A bearer token for the caller's tenant that grants exactly `permissions`.

    `scope` values are read back with `Principal.scoped(key)`. The core honours two keys:
    `customer_id` (the holder sees that customer only, and the token ends when the customer is
    deleted) and `contact_id` (the token ends when that contact is deleted); the plugin
    enforces the rest. Pass your plugin's name as `plugin`: the token then works only while
    the tenant has your plugin enabled. To revoke tokens, keep a record of what you issued and
    refuse the token in `saas_check_scoped_token`: the core asks on every use (at most once
    per credential cache window), and a refused token is refused by every field. The service that
    revokes calls `forget_credentials_after_commit(session, tenant_id)`, so that this process
    checks the tenant's credentials again from the next request once the revocation is committed.
    """
    tenant_id = context.require_principal().tenant_id
    return _issue(context.runtime.settings, tenant_id, subject, permissions, scope, ttl_seconds, plugin)


def forget_credentials(context: RequestContext) -> None:
    """Kept for plugins written for API 1.0 and 1.1; new code calls
    `forget_credentials_after_commit(session, tenant_id)` from its service, so that a change made
    outside a request (a job, a hook) ends credentials too, and only once it is committed.

    Forgets the caller's tenant's cached credentials now: this process checks them again on their
    next use; other processes do within the credential cache window (5 s)."""
    context.runtime.credentials.forget_tenant(context.require_principal().tenant_id)


def create_api_key(
    session: Session, principal: Principal, *, name: str, scopes: Iterable[str]
) -> tuple[uuid.UUID, str]:
    """A core API key of the caller's tenant with exactly `scopes` (permissions), made by the core's
    own service: the caller needs `api_keys:manage` and every scope; audited, `api_key.created` in
    the outbox, listed by `apiKeys`, revoked by `revokeApiKey`. Returns the key's id and the full
    key, shown once (only its digest is stored).

    A plugin limits such a key further by keeping the id with what it stands for (e.g. a supplier)
    and checking `principal.api_key_id` against that record on every use.
    """
    record, full_key = api_keys.create_api_key(session, principal, {"name": name, "scopes": list(scopes)})
    return record.id, full_key
