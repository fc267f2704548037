"""Starting, reading and committing data imports; the per-chunk work is in saas/imports/steps.py.

`start_import` reads only the file's header (format, encoding, the column mapping, all checked
before anything is written), stores the file in the database and queues the job. The job then
parses, previews and (unless a dry run) applies the rows in chunks (saas/imports/steps.py).
`commit_import` applies a finished dry run exactly as previewed; only a PREVIEWED dry run can
be committed, once (the job row is locked, so two concurrent commits cannot both start).
Each mutation records its audit entry and its event (`import.started`, `import.commit_started`).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from saas.audit.log import record_change
from saas.auth.permissions import require
from saas.auth.principal import Principal
from saas.db.paging import Page, keyset_page
from saas.errors import FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.imports import reading
from saas.imports.mapping import resolve_mapping
from saas.imports.models import DuplicatePolicy, ImportEntity, ImportJob, ImportRow, ImportStatus, RowOutcome
from saas.imports.progress import announce, request_step
from saas.imports.rules import WRITE_PERMISSION, import_conditions, require_import_reader
from saas.jobs.stale import abandoned_before, stale_before
from saas.validation import Checker

MAX_FILE_NAME = 255


def _now() -> datetime:
    return datetime.now(UTC)


def _invalid(field: str, code: str, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", field], code, message)])


def job_payload(job: ImportJob) -> dict[str, Any]:
    """The job as the API returns it (event payloads)."""
    from saas.imports.graphql.types import ImportJob as ImportJobType

    return {"importJob": api_object(ImportJobType.from_model(job))}


def _record(session: Session, principal: Principal, action: str, job: ImportJob) -> None:
    after = {
        "entity": job.entity, "status": job.status, "dry_run": job.dry_run, "file_name": job.file_name,
        "duplicate_policy": job.duplicate_policy,
    }  # fmt: skip
    record_change(session, principal, action, "ImportJob", job.id, None, after)
    emit_event(session, action, job_payload(job))


def start_import(session: Session, principal: Principal, data: dict[str, Any], max_bytes: int) -> ImportJob:
    """A queued import of `content` (a CSV or XLSX file, base64) into `entity`; see the module."""
    try:
        entity = ImportEntity(str(data.get("entity", "")).lower())
    except ValueError:
        raise _invalid("entity", UserErrorCode.INVALID, "entity must be CUSTOMER, CONTACT or LEAD") from None
    require(principal.permissions, WRITE_PERMISSION[entity])
    try:
        policy = DuplicatePolicy(str(data.get("duplicate_policy", "")).lower())
    except ValueError:
        raise _invalid(
            "duplicatePolicy", UserErrorCode.INVALID, "duplicatePolicy must be SKIP, UPDATE or CREATE"
        ) from None
    check = Checker({"file_name": data.get("file_name")})
    check.text("file_name", required=True, max_length=MAX_FILE_NAME)
    file_name = check.done()["file_name"]
    content = data.get("content")
    if not isinstance(content, str) or not content.strip():
        raise _invalid("content", UserErrorCode.REQUIRED, "content is required (the file, base64)")
    if len(content) > max_bytes * 4 // 3 + 4:
        raise _invalid("content", UserErrorCode.TOO_LONG, f"The file must be at most {max_bytes} bytes")
    try:
        raw = reading.decode_content(content, data.get("content_encoding"))
    except reading.UnreadableFile as exc:
        raise _invalid("content", UserErrorCode.INVALID, str(exc)) from None
    if len(raw) > max_bytes:
        raise _invalid("content", UserErrorCode.TOO_LONG, f"The file must be at most {max_bytes} bytes")
    try:
        source = reading.open_source(file_name, raw)
        header = reading.header(source)
    except reading.UnreadableFile as exc:
        code = UserErrorCode.REQUIRED if "empty" in str(exc) or "no header" in str(exc) else UserErrorCode.INVALID
        raise _invalid("content", code, f"The file cannot be read: {exc}") from None
    mapping = resolve_mapping(entity, header, data.get("mapping"))
    job = ImportJob(
        id=uuid.uuid4(),
        entity=entity.value,
        status=ImportStatus.QUEUED.value,
        dry_run=bool(data.get("dry_run")),
        duplicate_policy=policy.value,
        file_name=file_name,
        file_format=source.format,
        content=raw,
        encoding=source.encoding,
        mapping=mapping,
        created_by_id=principal.membership_id,
    )
    session.add(job)
    session.flush()
    session.refresh(job, ["created_at", "updated_at", "total_rows", "processed_rows", "created", "updated"])
    _record(session, principal, "import.started", job)
    announce(session, job)
    request_step(session, job.id)
    return job


def get_import_job(session: Session, principal: Principal, job_id: uuid.UUID, *, lock: bool = False) -> ImportJob:
    """The job if the principal sees it (their own; every one for roles that see all customers), else NOT_FOUND."""
    require_import_reader(principal)
    condition = import_conditions(principal, "import_jobs")
    query = select(ImportJob).where(ImportJob.id == job_id, text(condition.sql)).params(**condition.params)
    if lock:
        query = query.with_for_update()
    job = session.scalars(query).first()
    if job is None:
        raise NotFoundError("ImportJob not found", id=str(job_id))
    return job


def commit_import(session: Session, principal: Principal, job_id: uuid.UUID) -> ImportJob:
    """Apply a finished dry run as previewed: only a PREVIEWED dry run, once (INVALID_TRANSITION otherwise)."""
    try:
        job = get_import_job(session, principal, job_id, lock=True)
    except NotFoundError:
        raise _invalid("id", UserErrorCode.NOT_FOUND, "No such import") from None
    require(principal.permissions, WRITE_PERMISSION[ImportEntity(job.entity)])
    if not job.dry_run:
        raise _invalid(
            "id", UserErrorCode.INVALID_TRANSITION, "Only a dry run is committed; this import applies itself"
        )
    if job.status != ImportStatus.PREVIEWED.value:
        state = "was already committed" if job.committed_at else f"is {job.status}, not previewed yet"
        raise _invalid("id", UserErrorCode.INVALID_TRANSITION, f"This import {state}")
    now = _now()
    job.status = ImportStatus.COMMITTING.value
    job.committed_at = now
    job.cursor = 1
    job.processed_rows = job.created = job.updated = job.skipped = job.failed = 0
    job.updated_at = now
    session.flush()
    _record(session, principal, "import.commit_started", job)
    announce(session, job)
    request_step(session, job.id)
    return job


def list_rows(
    session: Session,
    principal: Principal,
    job_id: uuid.UUID,
    outcome: RowOutcome | None,
    limit: int,
    after: list[Any] | None,
) -> Page[ImportRow]:
    """A keyset page of the job's rows by row number (two statements, whatever the page size)."""
    get_import_job(session, principal, job_id)
    query = select(ImportRow).where(ImportRow.job_id == job_id)
    if outcome is not None:
        query = query.where(ImportRow.outcome == RowOutcome(outcome).value)
    return keyset_page(session, query, [ImportRow.row_number], limit, after)


def is_finished(job: ImportJob) -> bool:
    return job.status in (ImportStatus.PREVIEWED.value, ImportStatus.COMPLETED.value, ImportStatus.FAILED.value)


def fail_import(session: Session, job: ImportJob, reason: str) -> None:
    """The import ends FAILED with `reason` (its `error`), and `import.failed` says so."""
    job.error = reason[:500]
    job.status = ImportStatus.FAILED.value
    job.finished_at = datetime.now(UTC)
    session.flush()
    emit_event(session, "import.failed", job_payload(job))


GAVE_UP = "The import made no progress for 24 hours and was given up; start it again."


def sweep_stale_imports(session: Session, now: datetime | None = None) -> int:
    """The session's tenant's imports still under way but untouched for `STALE_AFTER`
    (saas/jobs/stale.py), none being worked on now (a step holds its job locked): the next step of
    each is sent again after the commit (a step resumes at the job's cursor, so nothing is done
    twice); one untouched for `GIVE_UP_AFTER` (its steps keep failing) ends FAILED with
    `import.failed` instead of being sent forever. How many were sent again."""
    finished = (ImportStatus.PREVIEWED.value, ImportStatus.COMPLETED.value, ImportStatus.FAILED.value)
    stale = session.scalars(
        select(ImportJob)
        .where(ImportJob.status.not_in(finished), ImportJob.updated_at < stale_before(now))
        .order_by(ImportJob.updated_at, ImportJob.id)
        .with_for_update(skip_locked=True)
    ).all()
    sent = 0
    for job in stale:
        if job.updated_at < abandoned_before(now):
            fail_import(session, job, GAVE_UP)
        else:
            request_step(session, job.id)
            sent += 1
    return sent
