"""Starting an export and running it: the rows the caller's list shows, streamed into a file.

Guarantees, and why they hold:
- **The caller's visibility.** `start_export` checks the permission and the filter (coded
  `userErrors`, nothing written); the job applies the same list condition (`sources.py`) as the
  member who asked, read again when it runs: a member deactivated meanwhile gets a FAILED job.
- **Flat memory.** The rows come from a server-side cursor (`yield_per`, `BATCH_ROWS` at a time)
  and go straight into the download's chunks (`saas.downloads`): CSV through a text wrapper,
  XLSX through openpyxl's write-only workbook.
- **Excel reads Chinese text.** CSV is UTF-8 with a byte order mark (Excel otherwise guesses the
  ANSI code page). A cell that starts like a formula (`=`, `@`, `+`/`-` before a non-digit) is
  prefixed with `'` so that a spreadsheet shows it as text rather than running it.
- **Once.** The job locks its row; a second delivery of the message finds it COMPLETED and does nothing.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.accounts.credentials import membership_principal
from saas.accounts.models import Membership
from saas.audit.access import record_export
from saas.auth.permissions import require
from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition
from saas.downloads.models import Download
from saas.downloads.service import open_download
from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.exports.entities import ExportFormat, ImportEntity
from saas.exports.models import ExportJob, ExportStatus
from saas.exports.rules import export_job_visibility
from saas.exports.sources import SOURCES
from saas.jobs.stale import abandoned_before, stale_before
from saas.schema.relay import to_global_id
from saas.tenancy.session import TENANT_PARAM, bound_tenant, on_commit
from saas.validation import json_depth

BATCH_ROWS = 1_000
MAX_FILTER_BYTES = 10_000
CONTENT_TYPES = {
    ExportFormat.CSV: "text/csv; charset=utf-8",
    ExportFormat.XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
FORMULA_START = re.compile(r"^(?:[=@\t\r]|[+-](?!\d))")
# What openpyxl refuses in a cell (control characters other than tab and line breaks).
ILLEGAL_XLSX = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def _invalid(path: list[str], code: UserErrorCode, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", *path], code, message)])


def job_payload(job: ExportJob) -> dict[str, Any]:
    return {
        "exportJob": {
            "id": to_global_id("ExportJob", job.id),
            "entity": job.entity,
            "format": job.format,
            "status": job.status.upper(),
            "rowCount": job.row_count,
        }
    }


def start_export(session: Session, principal: Principal, data: dict[str, Any]) -> ExportJob:
    """A PENDING export job of `entity` rows matching `filter` (the entity list's filter, as JSON)."""
    entity, file_format = ImportEntity(data["entity"]), ExportFormat(data["format"])
    source = SOURCES[entity]
    require(principal.permissions, source.permission)
    raw_filter = data.get("filter")
    if raw_filter is not None and not isinstance(raw_filter, dict):
        raise _invalid(["filter"], UserErrorCode.WRONG_TYPE, "filter must be a JSON object")
    if raw_filter and (json_depth(raw_filter, 5) > 4 or len(str(raw_filter)) > MAX_FILTER_BYTES):
        raise _invalid(["filter"], UserErrorCode.TOO_LONG, "filter is too large")
    source.where(principal, raw_filter)  # checked now: a bad filter is a userError, no job
    job = ExportJob(
        id=uuid.uuid4(),
        entity=entity.value,
        format=file_format.value,
        filter=raw_filter or {},
        status=ExportStatus.PENDING.value,
        requested_by_id=principal.membership_id,
    )
    session.add(job)
    session.flush()
    emit_event(session, "export.requested", job_payload(job))
    on_commit(session, lambda: request_export(principal.tenant_id, job.id))
    return job


def request_export(tenant_id: uuid.UUID, job_id: uuid.UUID) -> None:
    """Enqueue the job (after the commit that made it); a no-op in a process whose jobs are not bound
    to a broker, which leaves it PENDING."""
    from saas.exports.jobs import run_export_job

    if run_export_job.actor is not None:
        run_export_job.send(tenant_id, str(job_id))


def get_export_job(session: Session, principal: Principal, job_id: uuid.UUID) -> ExportJob:
    condition = SqlCondition()
    export_job_visibility(principal, "export_jobs", condition)
    job = session.scalars(
        select(ExportJob).where(ExportJob.id == job_id, text(condition.sql)).params(**condition.params)
    ).first()
    if job is None:
        raise NotFoundError("Export job not found", id=str(job_id))
    return job


def job_download(session: Session, job: ExportJob) -> Download | None:
    """The job's file while it can still be downloaded (complete, not expired, not yet downloaded)."""
    if job.download_id is None:
        return None
    download = session.get(Download, (job.tenant_id, job.download_id))
    if download is None or download.completed_at is None or download.downloaded_at is not None:
        return None
    return download if download.expires_at > datetime.now(UTC) else None


def _requester(session: Session, job: ExportJob) -> Principal | None:
    source = SOURCES[ImportEntity(job.entity)]
    if job.requested_by_id is None:  # an API key: the whole tenant, as its list would show
        return Principal(tenant_id=job.tenant_id, label="API key", permissions=frozenset({source.permission}))
    membership = session.get(Membership, (job.tenant_id, job.requested_by_id))
    if membership is None or not membership.is_active:
        return None
    return membership_principal(membership)


def _cell(value: Any) -> Any:
    if isinstance(value, str) and FORMULA_START.match(value):
        return "'" + value
    return value


def _rows(session: Session, sql: str, params: dict[str, Any]) -> Iterator[list[Any]]:
    result = session.execute(text(sql), params, execution_options={"yield_per": BATCH_ROWS})
    for row in result:
        yield [_cell(value) for value in row]


def _write_csv(stream: Any, headers: list[str], rows: Iterator[list[Any]]) -> int:
    wrapper = io.TextIOWrapper(stream, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(wrapper)
    writer.writerow(headers)
    count = 0
    for row in rows:
        writer.writerow(row)
        count += 1
    wrapper.flush()
    wrapper.detach()
    return count


def _write_xlsx(stream: Any, title: str, headers: list[str], rows: Iterator[list[Any]]) -> int:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title)
    sheet.append(headers)
    count = 0
    for row in rows:
        sheet.append([ILLEGAL_XLSX.sub("", v) if isinstance(v, str) else v for v in row])
        count += 1
    workbook.save(stream)
    return count


def run_export(session: Session, job_id: uuid.UUID) -> ExportJob | None:
    """Write the job's file in the session's transaction: COMPLETED with its row count and file, or
    FAILED with the reason when the requester may no longer export. Idempotent. The job goes from
    PENDING to one of them in one commit: a worker that dies half-way leaves it PENDING, and the
    message's next delivery starts again."""
    job = session.scalars(select(ExportJob).where(ExportJob.id == job_id).with_for_update()).first()
    if job is None or job.status in (ExportStatus.COMPLETED.value, ExportStatus.FAILED.value):
        return job
    source = SOURCES[ImportEntity(job.entity)]
    principal = _requester(session, job)
    if principal is None or source.permission not in principal.permissions:
        return _fail(session, job, "The member who asked for this export may no longer export these records.")
    try:
        condition = source.where(principal, job.filter or None)
    except InputInvalid as invalid:  # e.g. a custom field archived since
        return _fail(session, job, "; ".join(e.message for e in invalid.errors)[:500])
    file_format = ExportFormat(job.format)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    name = f"{source.table}-{stamp}.{file_format.value.lower()}"
    params = {**condition.params, TENANT_PARAM: job.tenant_id}
    rows = _rows(session, source.select_sql(condition), params)
    writer = open_download(
        session,
        kind=f"export.{source.table}",
        file_name=name,
        content_type=CONTENT_TYPES[file_format],
        created_by_id=job.requested_by_id,
    )
    if file_format is ExportFormat.CSV:
        count = _write_csv(writer, source.headers, rows)
    else:
        count = _write_xlsx(writer, source.table, source.headers, rows)
    writer.close()
    job.status, job.row_count, job.download_id = ExportStatus.COMPLETED.value, count, writer.download.id
    job.completed_at = datetime.now(UTC)
    session.flush()
    record_export(
        session,
        principal,
        source.table,
        {"job": to_global_id("ExportJob", job.id), "format": job.format, "rows": count, "filter": job.filter},
    )
    emit_event(session, "export.completed", job_payload(job))
    return job


def _fail(session: Session, job: ExportJob, reason: str) -> ExportJob:
    job.status, job.error, job.completed_at = ExportStatus.FAILED.value, reason, datetime.now(UTC)
    session.flush()
    emit_event(session, "export.failed", {**job_payload(job), "error": reason})
    return job


NOT_STARTED = "The export did not start in time; ask for it again."


def sweep_stale_exports(session: Session, now: datetime | None = None) -> tuple[int, int]:
    """The session's tenant's exports PENDING longer than `STALE_AFTER` (saas/jobs/stale.py), none
    of them running now (those hold their row locked): each sent again after the commit, or FAILED
    once `GIVE_UP_AFTER` old. How many were sent again, how many failed."""
    tenant_id = bound_tenant(session)
    assert tenant_id is not None
    stale = session.scalars(
        select(ExportJob)
        .where(ExportJob.status == ExportStatus.PENDING.value, ExportJob.created_at < stale_before(now))
        .order_by(ExportJob.created_at, ExportJob.id)
        .with_for_update(skip_locked=True)
    ).all()
    again: list[uuid.UUID] = []
    failed = 0
    for job in stale:
        if job.created_at < abandoned_before(now):
            _fail(session, job, NOT_STARTED)
            failed += 1
        else:
            again.append(job.id)

    def send_again() -> None:
        for job_id in again:
            request_export(tenant_id, job_id)

    if again:
        on_commit(session, send_again)
    return len(again), failed
