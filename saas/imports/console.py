"""An import run in this process, chunk after chunk (`saas import`): the same service and steps as the job's."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import Engine

from saas.auth.permissions import ALL_PERMISSIONS, Role
from saas.auth.principal import Principal
from saas.imports.models import ImportJob
from saas.imports.service import start_import
from saas.imports.steps import CLI_PRINCIPAL_LABEL, run_step
from saas.tenancy.session import tenant_session


def import_file(
    engine: Engine,
    tenant_id: uuid.UUID,
    path: Path,
    *,
    entity: str,
    dry_run: bool,
    policy: str,
    max_bytes: int,
    progress: Callable[[ImportJob], None],
) -> ImportJob:
    """Start an import of `path` as the tenant's operator and run it to its end, calling `progress`
    after each chunk with the job; returns the finished job (detached, counts loaded)."""
    operator = Principal(tenant_id=tenant_id, label=CLI_PRINCIPAL_LABEL, permissions=ALL_PERMISSIONS, role=Role.OWNER)
    if path.stat().st_size > max_bytes:
        from saas.errors import FieldError, InputInvalid, UserErrorCode

        message = f"The file must be at most {max_bytes} bytes"
        raise InputInvalid([FieldError(["input", "content"], UserErrorCode.TOO_LONG, message)])
    data = {
        "entity": entity,
        "file_name": path.name,
        "content": base64.b64encode(path.read_bytes()).decode(),
        "dry_run": dry_run,
        "duplicate_policy": policy,
    }
    with tenant_session(engine, tenant_id) as session:
        job_id = start_import(session, operator, data, max_bytes).id
    while True:
        with tenant_session(engine, tenant_id) as session:
            more = run_step(session, job_id)
            session.commit()
            job = session.get(ImportJob, (tenant_id, job_id))
            assert job is not None
            session.expunge(job)
        progress(job)
        if not more:
            return job
