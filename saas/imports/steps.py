"""One chunk of an import's work, in the caller's transaction: the unit a worker runs and resumes.

The job row is locked first (`FOR UPDATE`), so two deliveries of the job's messages never work
on one import at once; each reads the chunk cursor (`cursor`, the last row number done in the
current phase) and moves it with the rows it wrote, in the same transaction. A worker killed
mid-chunk leaves nothing of that chunk (PostgreSQL rolls it back), and the next run starts at the
same cursor: no row is applied twice, none is lost.

Phases: PARSING reads the file (`PARSE_CHUNK` data rows per step, streamed: the reader skips the
rows done and stops after the chunk) and stores each row cleaned and checked; at the end of the
file one statement marks rows repeating an earlier row's e-mail, phone or name
(DUPLICATE_IN_FILE). PREVIEWING plans `ROW_CHUNK` rows per step (saas/imports/planning.py);
COMMITTING applies them (saas/imports/applying.py).
"""

from __future__ import annotations

import itertools
import uuid
from dataclasses import replace
from datetime import UTC, datetime

from sqlalchemy import insert, select, text
from sqlalchemy.orm import Session

from saas.accounts.credentials import membership_principal
from saas.accounts.models import Membership, Tenant
from saas.accounts.ownership import managed_member_ids
from saas.auth.permissions import ALL_PERMISSIONS, Role
from saas.auth.principal import Principal
from saas.events.outbox import emit_event
from saas.imports import reading
from saas.imports.applying import apply_rows
from saas.imports.cleaning import DUPLICATE_IN_FILE, KEY_SEPARATOR, clean_row
from saas.imports.models import ImportEntity, ImportJob, ImportRow, ImportStatus, RowOutcome
from saas.imports.planning import plan_rows
from saas.imports.progress import announce
from saas.imports.service import fail_import, is_finished, job_payload

PARSE_CHUNK = 5_000
ROW_CHUNK = 1_000
DEFAULT_REGION = "CN"
CLI_PRINCIPAL_LABEL = "saas-cli"


class ImportCannotRun(Exception):
    """The import can never go on (its member left); the job is marked FAILED."""


def default_region(session: Session, tenant_id: uuid.UUID) -> str:
    """The tenant's default phone region (`settings.defaultRegion`, ISO 3166 alpha-2), else CN."""
    tenant = session.get(Tenant, tenant_id)
    region = (tenant.settings or {}).get("defaultRegion") if tenant is not None else None
    return region.upper() if isinstance(region, str) and len(region) == 2 else DEFAULT_REGION


def acting_principal(session: Session, job: ImportJob) -> Principal:
    """Whom the import acts as: the member who started it (their current role and teams), or the CLI's operator."""
    if job.created_by_id is None:
        return Principal(
            tenant_id=job.tenant_id, label=CLI_PRINCIPAL_LABEL, permissions=ALL_PERMISSIONS, role=Role.OWNER
        )
    membership = session.get(Membership, (job.tenant_id, job.created_by_id))
    if membership is None or not membership.is_active or not membership.user.is_active:
        raise ImportCannotRun("the member who started this import is no longer active")
    principal = membership_principal(membership)
    return replace(principal, team_member_ids=managed_member_ids(session, membership.id))


def _now() -> datetime:
    return datetime.now(UTC)


def _finish(session: Session, job: ImportJob, status: ImportStatus, event: str | None) -> None:
    job.status = status.value
    job.finished_at = _now()
    session.flush()
    if event is not None:
        emit_event(session, event, job_payload(job))


def _fail(session: Session, job: ImportJob, reason: str) -> None:
    fail_import(session, job, reason)


def _mark_file_duplicates(session: Session, job: ImportJob) -> None:
    """Rows repeating an earlier valid row's key fail with DUPLICATE_IN_FILE (one statement)."""
    columns = {"email": None, "phone": None, "name": None}
    name_field = "company" if job.entity == ImportEntity.LEAD.value else "name"
    for column, target in job.mapping.items():
        kind = "name" if target == name_field else target
        if kind in columns:
            columns[kind] = column
    session.execute(
        text(
            """
            WITH k AS (
              SELECT r.row_number, key FROM import_rows r, jsonb_array_elements_text(r.keys) key
              WHERE r.job_id = :job_id AND r.errors = '[]'::jsonb
            ), firsts AS (SELECT key, min(row_number) AS first FROM k GROUP BY key),
            dups AS (
              SELECT k.row_number, min(f.first) AS first, (array_agg(k.key ORDER BY f.first))[1] AS key
              FROM k JOIN firsts f USING (key) WHERE f.first < k.row_number GROUP BY k.row_number
            )
            UPDATE import_rows r SET errors = jsonb_build_array(jsonb_build_object(
                'column', CAST(:columns AS jsonb) ->> split_part(d.key, :sep, 1),
                'code', CAST(:code AS text),
                'message', 'The same ' || split_part(d.key, :sep, 1) || ' as row ' || d.first))
            FROM dups d WHERE r.job_id = :job_id AND r.row_number = d.row_number
            """
        ),
        {"job_id": job.id, "columns": _json(columns), "sep": KEY_SEPARATOR, "code": DUPLICATE_IN_FILE},
    )


def _json(value: object) -> str:
    import orjson

    return orjson.dumps(value).decode()


def _parse(session: Session, job: ImportJob, chunk: int) -> None:
    job.status = ImportStatus.PARSING.value
    source = reading.SourceFile(job.content, job.file_format, job.encoding)
    try:
        rows = reading.rows(source)
        header = [cell.strip() for cell in next(rows)]
        batch = list(itertools.islice(rows, job.cursor, job.cursor + chunk))
    except (reading.UnreadableFile, StopIteration) as exc:
        _fail(session, job, str(exc) or "the file has no header row")
        return
    region = default_region(session, job.tenant_id)
    entity = ImportEntity(job.entity)
    records = []
    for offset, cells in enumerate(batch):
        clean = clean_row(entity, header, cells, job.mapping, region)
        records.append(
            {
                "tenant_id": job.tenant_id,
                "job_id": job.id,
                "row_number": job.cursor + offset + 2,  # the header is row 1
                "values": clean.values,
                "errors": clean.errors,
                "keys": clean.keys,
            }
        )
    if records:
        session.execute(insert(ImportRow), records)
    job.cursor += len(batch)
    job.total_rows = job.cursor
    if len(batch) < chunk:
        _mark_file_duplicates(session, job)
        job.status, job.cursor = ImportStatus.PREVIEWING.value, 1


def _next_rows(session: Session, job: ImportJob, chunk: int) -> list[ImportRow]:
    query = (
        select(ImportRow)
        .where(ImportRow.job_id == job.id, ImportRow.row_number > job.cursor)
        .order_by(ImportRow.row_number)
        .limit(chunk)
    )
    return list(session.scalars(query))


def _count(job: ImportJob, rows: list[ImportRow]) -> None:
    for row in rows:
        if row.outcome == RowOutcome.CREATE.value:
            job.created += 1
        elif row.outcome == RowOutcome.UPDATE.value:
            job.updated += 1
        elif row.outcome == RowOutcome.SKIP.value:
            job.skipped += 1
        else:
            job.failed += 1
    job.processed_rows += len(rows)
    job.cursor = rows[-1].row_number


def _start_commit(job: ImportJob) -> None:
    job.status = ImportStatus.COMMITTING.value
    job.cursor = 1
    job.processed_rows = job.created = job.updated = job.skipped = job.failed = 0


def _preview(session: Session, principal: Principal, job: ImportJob, chunk: int) -> None:
    rows = _next_rows(session, job, chunk)
    if not rows:
        if job.dry_run:
            _finish(session, job, ImportStatus.PREVIEWED, "import.previewed")
        else:
            _start_commit(job)
        return
    with session.no_autoflush:
        plan_rows(session, principal, job, rows)
    _count(job, rows)
    _save_plans(session, job, rows)


def _save_plans(session: Session, job: ImportJob, rows: list[ImportRow]) -> None:
    """The chunk's planned rows written back in one statement (not one UPDATE per row)."""
    planned = [
        {
            "row_number": row.row_number,
            "outcome": row.outcome,
            "errors": row.errors,
            "matched_id": str(row.matched_id) if row.matched_id else None,
            "matched_version": row.matched_version,
            "diff": row.diff,
            "values": row.values,
        }
        for row in rows
    ]
    for row in rows:
        session.expunge(row)  # their changes go out below, not in the next flush
    session.execute(
        text(
            """
            UPDATE import_rows r SET outcome = v.outcome, errors = v.errors, matched_id = v.matched_id,
              matched_version = v.matched_version, diff = v.diff, "values" = v."values"
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
              row_number integer, outcome text, errors jsonb, matched_id uuid, matched_version integer,
              diff jsonb, "values" jsonb)
            WHERE r.tenant_id = :tenant_id AND r.job_id = :job_id AND r.row_number = v.row_number
            """
        ),
        {"rows": _json(planned), "tenant_id": job.tenant_id, "job_id": job.id},
    )


def _commit(session: Session, principal: Principal, job: ImportJob, chunk: int) -> None:
    rows = _next_rows(session, job, chunk)
    if not rows:
        _finish(session, job, ImportStatus.COMPLETED, "import.completed")
        return
    with session.no_autoflush:
        apply_rows(session, principal, job, rows)
    _count(job, rows)
    _save_applied(session, job, rows)


def _save_applied(session: Session, job: ImportJob, rows: list[ImportRow]) -> None:
    """The chunk's applied rows (what happened to each, its record) written back in one statement."""
    applied = [
        {
            "row_number": row.row_number,
            "outcome": row.outcome,
            "errors": row.errors,
            "matched_id": str(row.matched_id) if row.matched_id else None,
            "record_id": str(row.record_id) if row.record_id else None,
        }
        for row in rows
    ]
    for row in rows:
        if row in session:
            session.expunge(row)  # their changes go out below, not in the next flush
    session.execute(
        text(
            """
            UPDATE import_rows r SET outcome = v.outcome, errors = v.errors, matched_id = v.matched_id,
              record_id = v.record_id, applied = true
            FROM jsonb_to_recordset(CAST(:rows AS jsonb)) AS v(
              row_number integer, outcome text, errors jsonb, matched_id uuid, record_id uuid)
            WHERE r.tenant_id = :tenant_id AND r.job_id = :job_id AND r.row_number = v.row_number
            """
        ),
        {"rows": _json(applied), "tenant_id": job.tenant_id, "job_id": job.id},
    )


def run_step(
    session: Session, job_id: uuid.UUID, *, parse_chunk: int = PARSE_CHUNK, row_chunk: int = ROW_CHUNK
) -> bool:
    """Do the import's next chunk in the session's transaction; whether more remains."""
    job = session.scalars(select(ImportJob).where(ImportJob.id == job_id).with_for_update()).first()
    if job is None or is_finished(job):
        return False
    try:
        principal = acting_principal(session, job)
    except ImportCannotRun as exc:
        _fail(session, job, str(exc))
        announce(session, job)
        return False
    status = ImportStatus(job.status)
    if status in (ImportStatus.QUEUED, ImportStatus.PARSING):
        _parse(session, job, parse_chunk)
    elif status is ImportStatus.PREVIEWING:
        _preview(session, principal, job, row_chunk)
    elif status is ImportStatus.COMMITTING:
        _commit(session, principal, job, row_chunk)
    job.updated_at = _now()
    session.flush()
    announce(session, job)
    return not is_finished(job)
