"""Deleting a tenant: marked deleted at once (every login and credential refused), erased later.

`delete_tenant` sets `tenants.deleted_at`. From that commit on, logins to the tenant fail and
every credential check refuses its tokens, API keys and scoped tokens (`saas.accounts.login`,
`saas.accounts.credentials`); the process that deletes forgets the tenant's cached credentials,
others within their cache window (5 s). Its jobs are dropped, the scheduler skips it.

After the grace period (`TENANT_DELETION_GRACE_DAYS`, default 30), `purge_due_tenants` (a
maintenance task of the scheduler) erases it: each installed plugin's `saas_tenant_deleted`
hook is called first (for what the plugin keeps outside the database), then every row of every
tenant table is deleted in one transaction, children before parents. The `tenants` row stays
as a tombstone (`purged_at`), so the slug is not handed out again. Within the grace period,
`undelete_tenant` brings the tenant back as it was.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, text, update
from sqlalchemy.orm import Session

from saas.accounts.credentials import forget_credentials_after_commit
from saas.accounts.models import Tenant
from saas.plugin_host.host import PluginHost
from saas.tenancy.rls import quote_ident, tenant_tables
from saas.tenancy.session import tenant_session
from saas.tenant_data.tables import dependency_order, reflect_shapes

log = logging.getLogger(__name__)


class DeletionError(Exception):
    """`code`: NOT_FOUND, NOT_DELETED, ALREADY_DELETED, PURGED."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class DeletedTenant:
    id: uuid.UUID
    slug: str
    deleted_at: datetime
    purge_after: datetime


def _tenant(session: Session, slug: str) -> Tenant:
    tenant = session.scalar(select(Tenant).where(Tenant.slug == slug.strip().lower()).with_for_update())
    if tenant is None:
        raise DeletionError("NOT_FOUND", f"no tenant with slug {slug!r}")
    if tenant.purged_at is not None:
        raise DeletionError("PURGED", f"tenant {slug!r} was deleted and erased on {tenant.purged_at:%Y-%m-%d}")
    return tenant


def delete_tenant(engine: Engine, slug: str, grace: timedelta) -> DeletedTenant:
    """Mark the tenant deleted: refused from now on, erased after `grace`."""
    with tenant_session(engine, None) as session:
        tenant = _tenant(session, slug)
        if tenant.deleted_at is not None:
            raise DeletionError("ALREADY_DELETED", f"tenant {slug!r} is already deleted")
        tenant.deleted_at = datetime.now(UTC)
        forget_credentials_after_commit(session, tenant.id)
        return DeletedTenant(tenant.id, tenant.slug, tenant.deleted_at, tenant.deleted_at + grace)


def undelete_tenant(engine: Engine, slug: str) -> uuid.UUID:
    """Bring a deleted tenant back, before it is erased: its members log in again."""
    with tenant_session(engine, None) as session:
        tenant = _tenant(session, slug)
        if tenant.deleted_at is None:
            raise DeletionError("NOT_DELETED", f"tenant {slug!r} is not deleted")
        tenant.deleted_at = None
        return tenant.id


def purge_tenant(engine: Engine, tenant_id: uuid.UUID, plugins: PluginHost | None = None) -> int:
    """Erase every row of the (deleted) tenant in every tenant table; returns the rows deleted."""
    with tenant_session(engine, None) as session:
        tenant = session.get(Tenant, tenant_id)
        if tenant is None or tenant.deleted_at is None:
            raise DeletionError("NOT_DELETED", "only a deleted tenant is erased")
        if tenant.purged_at is not None:
            return 0
    if plugins is not None:  # every installed plugin: one may hold data of a tenant that disabled it
        plugins.hook_for(plugins.healthy_names()).saas_tenant_deleted(tenant_id=tenant_id)
    deleted = 0
    with tenant_session(engine, tenant_id) as session:
        conn = session.connection()
        shapes = reflect_shapes(conn, tenant_tables(conn))
        order, deferred = dependency_order(shapes)
        for name, column_sets in deferred.items():
            columns = sorted({c for cs in column_sets for c in cs if shapes[name].table.c[c].nullable})
            if columns:
                assignments = ", ".join(f"{quote_ident(c)} = NULL" for c in columns)
                conn.execute(
                    text(f"UPDATE {quote_ident(name)} SET {assignments} WHERE tenant_id = :t"), {"t": tenant_id}
                )
        for name in reversed(order):
            table = shapes[name].table
            deleted += conn.execute(delete(table).where(table.c.tenant_id == tenant_id)).rowcount or 0
        session.execute(update(Tenant).where(Tenant.id == tenant_id).values(purged_at=datetime.now(UTC)))
    return deleted


def purge_due_tenants(engine: Engine, grace: timedelta, plugins: PluginHost | None = None) -> list[uuid.UUID]:
    """Erase every tenant deleted longer ago than `grace`."""
    cutoff = datetime.now(UTC) - grace
    with tenant_session(engine, None) as session:
        due = list(
            session.scalars(
                select(Tenant.id).where(Tenant.deleted_at <= cutoff, Tenant.purged_at.is_(None)).order_by(Tenant.id)
            )
        )
    for tenant_id in due:
        rows = purge_tenant(engine, tenant_id, plugins)
        log.info("tenant %s erased after its grace period (%d rows)", tenant_id, rows)
    return due
