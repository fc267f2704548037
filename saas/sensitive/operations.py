"""What `saas keys` does across tenants: master key rotation, re-encryption runs and key status.

Each tenant's work runs in a session bound to that tenant (its keys and rows are behind
row-level security like every tenant table); the tenant list comes from the global `tenants`.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Engine, func, select

from saas.accounts.models import Tenant
from saas.sensitive import keys
from saas.sensitive.models import ReencryptRun, TenantKey
from saas.sensitive.service import RUNNING, SystemActor, rotate_tenant, run_batch, start_reencrypt
from saas.tenancy.session import tenant_session


@dataclass(frozen=True)
class Rotation:
    master_key_id: str
    tenants: int
    rewrapped: int
    left_on_other_keys: int


def _tenants(engine: Engine) -> list[tuple[uuid.UUID, str]]:
    with tenant_session(engine, None) as session:
        return [(row.id, row.slug) for row in session.execute(select(Tenant.id, Tenant.slug).order_by(Tenant.slug))]


def tenant_id_of(engine: Engine, slug: str) -> uuid.UUID | None:
    with tenant_session(engine, None) as session:
        return session.scalar(select(Tenant.id).where(Tenant.slug == slug))


def keys_not_on(engine: Engine, master_key_id: str) -> int:
    """Key rows of every tenant wrapped by another master key than `master_key_id`."""
    left = 0
    for tenant_id, _slug in _tenants(engine):
        with tenant_session(engine, tenant_id) as session:
            left += (
                session.scalar(
                    select(func.count()).select_from(TenantKey).where(TenantKey.master_key_id != master_key_id)
                )
                or 0
            )
    return left


def rotate_master_key(engine: Engine) -> Rotation:
    """Re-wrap every tenant's keys under the current (first) master key, one tenant per transaction."""
    current = keys.master_keys().current_id
    tenants = _tenants(engine)
    rewrapped = 0
    for tenant_id, _slug in tenants:
        with tenant_session(engine, tenant_id) as session:
            rewrapped += rotate_tenant(session, SystemActor("saas keys rotate"), tenant_id)
    return Rotation(current, len(tenants), rewrapped, keys_not_on(engine, current))


def start_or_resume(
    engine: Engine, tenant_id: uuid.UUID, *, resume_only: bool = False
) -> tuple[ReencryptRun | None, bool]:
    """The tenant's running run (resumed: True) or a new one toward a new data key version."""
    with tenant_session(engine, tenant_id) as session:
        running = session.scalars(select(ReencryptRun).where(ReencryptRun.status == RUNNING)).first()
        if running is not None or resume_only:
            return running, True
        return start_reencrypt(session, SystemActor("saas keys reencrypt"), tenant_id, new_key=True), False


def run_to_end(
    engine: Engine,
    tenant_id: uuid.UUID,
    batch_size: int,
    *,
    max_batches: int | None = None,
    progress: Callable[[ReencryptRun], None] | None = None,
) -> ReencryptRun | None:
    """Run the tenant's running run here, one batch per transaction (the job's work, in the foreground)."""
    run = None
    batches = 0
    while max_batches is None or batches < max_batches:
        with tenant_session(engine, tenant_id) as session:
            run = run_batch(session, tenant_id, batch_size)
        batches += 1
        if run is None:
            break
        if progress is not None:
            progress(run)
        if run.status != RUNNING:
            break
    return run


def key_status(engine: Engine, slug: str | None = None) -> list[tuple[str, str, int, str, str]]:
    """(tenant slug, purpose, version, master key id, state) of every key row."""
    rows: list[tuple[str, str, int, str, str]] = []
    for tenant_id, tenant_slug in _tenants(engine):
        if slug is not None and tenant_slug != slug:
            continue
        with tenant_session(engine, tenant_id) as session:
            for row in session.scalars(select(TenantKey).order_by(TenantKey.purpose, TenantKey.version)):
                state = "retired" if row.retired_at else "current"
                rows.append((tenant_slug, row.purpose, row.version, row.master_key_id, state))
    return rows
