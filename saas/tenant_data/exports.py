"""The owner's export of the tenant (`exportTenantData`): requested, run as a job, handed out once.

- `request_export` (the owner only: `tenant:export`, held by no other role and by no API key)
  records a PENDING export, the `tenant_export.requested` event and an `export` access entry in
  the audit log, and enqueues `run_export` once committed.
- `run_export` writes the archive (`saas.tenant_data.archive`) into a download
  (`saas.downloads.service.open_download`) inside a savepoint of the job's transaction. Progress
  is written in short transactions of their own (the status query sees it while the job runs)
  and published live on the tenant's `tenant_export` topic (`tenantExportProgress`). A failure
  rolls the savepoint back (no partial file) and leaves the export FAILED with
  `tenant_export.failed`; success completes it with `tenant_export.completed`.
- `issue_link` gives the owner the signed, one-time link (`sign_link`) once: a second ask
  gets nothing (the file is downloadable once anyway).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select, text, update
from sqlalchemy.orm import Session

from saas.audit.access import record_export
from saas.auth.permissions import TENANT_EXPORT, require
from saas.auth.principal import Principal
from saas.config import Settings
from saas.downloads.models import Download
from saas.downloads.service import open_download, sign_link
from saas.errors import ForbiddenError, NotFoundError
from saas.events.outbox import emit_event
from saas.events.payloads import node_ref
from saas.jobs.stale import abandoned_before, stale_before
from saas.plugin_host.host import PluginHost
from saas.realtime import publish_after_commit
from saas.tenancy.session import bound_tenant, on_commit, tenant_session
from saas.tenant_data.archive import write_archive
from saas.tenant_data.models import ExportStatus, TenantExport

TOPIC = "tenant_export"
CONTENT_TYPE = "application/gzip"
DOWNLOAD_KIND = "tenant_export"


def export_payload(export: TenantExport) -> dict[str, Any]:
    """The export as events and live messages carry it (GraphQL shapes)."""
    return {
        "id": node_ref("TenantExport", export.id)["id"],  # type: ignore[index]
        "status": export.status.upper(),
        "tablesTotal": export.tables_total,
        "tablesDone": export.tables_done,
        "rowsDone": export.rows_done,
    }


def request_export(
    session: Session, principal: Principal, enqueue: Callable[[uuid.UUID, uuid.UUID], Any]
) -> TenantExport:
    """A new export of the principal's tenant; `enqueue(tenant_id, export_id)` runs after the commit."""
    require(principal.permissions, TENANT_EXPORT)
    if principal.membership_id is None:
        raise ForbiddenError("Only the tenant's owner, signed in, may export its data")
    export = TenantExport(status=ExportStatus.PENDING.value, requested_by_id=principal.membership_id)
    session.add(export)
    session.flush()
    record_export(session, principal, "tenant", {"exportId": str(export.id)})
    emit_event(session, "tenant_export.requested", {"export": export_payload(export)})
    tenant_id = principal.tenant_id
    on_commit(session, lambda: enqueue(tenant_id, export.id))
    return export


def get_export(session: Session, principal: Principal, export_id: uuid.UUID) -> TenantExport:
    """The tenant's export for its owner; NOT_FOUND for another tenant's (RLS) or a missing one."""
    require(principal.permissions, TENANT_EXPORT)
    export = session.get(TenantExport, (principal.tenant_id, export_id))
    if export is None:
        raise NotFoundError("Not found")
    return export


def issue_link(session: Session, settings: Settings, principal: Principal, export: TenantExport) -> str | None:
    """The one-time download link of a completed export, the first time the owner asks; else None."""
    if export.status != ExportStatus.COMPLETED.value or export.download_id is None or principal.membership_id is None:
        return None
    if export.requested_by_id != principal.membership_id:
        return None
    claimed = session.execute(
        update(TenantExport)
        .where(TenantExport.id == export.id, TenantExport.link_issued_at.is_(None))
        .values(link_issued_at=datetime.now(UTC))
        .returning(TenantExport.id)
    ).scalar_one_or_none()
    if claimed is None:
        return None
    download = session.get(Download, (export.tenant_id, export.download_id))
    if download is None:
        return None
    return sign_link(settings, download)


def _claim_run(session: Session, export_id: uuid.UUID) -> bool:
    """Take the export's run lock for the session's transaction; False when a worker holds it (the
    lock ends with the worker's transaction, so a worker that died holds nothing)."""
    return bool(
        session.scalar(
            text("SELECT pg_try_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"tenant_export:{export_id}"}
        )
    )


def _progress(engine: Engine, tenant_id: uuid.UUID, export_id: uuid.UUID) -> Callable[[str, int, int, int], None]:
    def note(table: str, done: int, total: int, rows: int) -> None:
        with tenant_session(engine, tenant_id) as session:
            session.execute(
                update(TenantExport)
                .where(TenantExport.id == export_id)
                .values(status=ExportStatus.RUNNING.value, tables_done=done, tables_total=total, rows_done=rows)
            )
            export = session.get(TenantExport, (tenant_id, export_id))
            assert export is not None
            publish_after_commit(session, TOPIC, export_payload(export))

    return note


def run_export(session: Session, export_id: uuid.UUID, plugins: PluginHost | None = None) -> TenantExport:
    """Write the archive of the session's tenant for the export (the job's work)."""
    tenant_id = bound_tenant(session)
    assert tenant_id is not None
    export = session.get(TenantExport, (tenant_id, export_id))
    if export is None or export.status not in (ExportStatus.PENDING.value, ExportStatus.RUNNING.value):
        raise NotFoundError("Not found")
    # One worker per export: a second message (sent again by the stale-job sweep) while it runs
    # does nothing. Not a row lock: the progress is written to the row from other sessions.
    if not _claim_run(session, export_id):
        return export
    engine = session.get_bind()
    assert isinstance(engine, Engine)
    file_name = f"tenant-export-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.tar.gz"
    try:
        with session.begin_nested():
            writer = open_download(
                session,
                kind=DOWNLOAD_KIND,
                file_name=file_name,
                content_type=CONTENT_TYPE,
                created_by_id=export.requested_by_id,
            )
            with writer:
                summary = write_archive(
                    engine, tenant_id, writer, plugins=plugins, progress=_progress(engine, tenant_id, export_id)
                )
            download_id = writer.download.id
    except Exception as exc:
        session.refresh(export)
        export.status = ExportStatus.FAILED.value
        export.error = f"{type(exc).__name__}: {exc}"[:1000]
        export.completed_at = datetime.now(UTC)
        emit_event(session, "tenant_export.failed", {"export": export_payload(export), "error": export.error})
        publish_after_commit(session, TOPIC, export_payload(export))
        return export
    session.refresh(export)
    export.status = ExportStatus.COMPLETED.value
    export.download_id = download_id
    export.tables_total = export.tables_done = len(summary.manifest["tables"])
    export.rows_done = summary.rows
    export.completed_at = datetime.now(UTC)
    emit_event(session, "tenant_export.completed", {"export": export_payload(export)})
    publish_after_commit(session, TOPIC, export_payload(export))
    return export


def latest_exports(session: Session, principal: Principal, limit: int) -> list[TenantExport]:
    require(principal.permissions, TENANT_EXPORT)
    return list(session.scalars(select(TenantExport).order_by(TenantExport.created_at.desc()).limit(limit)))


NOT_STARTED = "The export did not start in time; ask for it again."
STOPPED = "The export stopped before it finished; ask for it again."


def sweep_stale_exports(
    session: Session, enqueue: Callable[[uuid.UUID, uuid.UUID], Any], now: datetime | None = None
) -> tuple[int, int]:
    """The session's tenant's exports asked for more than `STALE_AFTER` ago (saas/jobs/stale.py)
    and not finished: still PENDING (their message was lost), or RUNNING with no worker holding
    their run lock (the worker died mid-archive; a live worker holds it for as long as it runs).
    Each is sent again with `enqueue(tenant_id, export_id)` after the commit (the archive is
    written afresh), or FAILED once `GIVE_UP_AFTER` old. How many were sent again, how many
    failed."""
    tenant_id = bound_tenant(session)
    assert tenant_id is not None
    unfinished = (ExportStatus.PENDING.value, ExportStatus.RUNNING.value)
    candidates = session.scalars(
        select(TenantExport)
        .where(TenantExport.status.in_(unfinished), TenantExport.created_at < stale_before(now))
        .order_by(TenantExport.created_at, TenantExport.id)
        .with_for_update(skip_locked=True)
    ).all()
    # The sweep holds a RUNNING export's run lock until its commit: no worker starts it meanwhile.
    stale = [e for e in candidates if e.status == ExportStatus.PENDING.value or _claim_run(session, e.id)]
    again: list[uuid.UUID] = []
    failed = 0
    for export in stale:
        if export.created_at >= abandoned_before(now):
            again.append(export.id)
            continue
        export.error = NOT_STARTED if export.status == ExportStatus.PENDING.value else STOPPED
        export.status = ExportStatus.FAILED.value
        export.completed_at = datetime.now(UTC)
        emit_event(session, "tenant_export.failed", {"export": export_payload(export), "error": export.error})
        publish_after_commit(session, TOPIC, export_payload(export))
        failed += 1

    def send_again() -> None:
        for export_id in again:
            enqueue(tenant_id, export_id)

    if again:
        on_commit(session, send_again)
    return len(again), failed
