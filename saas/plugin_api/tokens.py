"""Scoped tokens for plugins: credentials for people who are not members (e.g. portal contacts)."""

from __future__ import annotations

from saas.auth.tokens import issue_scoped_token as _issue
from saas.schema.context import RequestContext

DEFAULT_SCOPED_TTL_SECONDS = 30 * 24 * 3600


def issue_scoped_token(
    context: RequestContext,
    subject: str,
    permissions: frozenset[str],
    scope: dict[str, str],
    ttl_seconds: int = DEFAULT_SCOPED_TTL_SECONDS,
) -> str:
    """A bearer token for the caller's tenant that grants exactly `permissions`.

    `scope` values are read back with `Principal.scoped(key)`; the core honours the key
    `customer_id` (the holder sees that customer only), the plugin enforces the rest. Keep a
    record of what you issued if you need to revoke it, and check it in your resolvers.
    """
    tenant_id = context.require_principal().tenant_id
    return _issue(context.runtime.settings, tenant_id, subject, permissions, scope, ttl_seconds)
