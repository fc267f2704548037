"""The stale-job sweeps: exports, tenant exports and imports whose message was lost are sent
again after `STALE_AFTER`; exports never started are FAILED after `GIVE_UP_AFTER`; rows a worker
holds locked, recent ones, finished ones and another tenant's are left alone."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import select, update

from saas.events.models import OutboxEvent
from saas.exports import service as exports
from saas.exports.models import ExportJob
from saas.imports import progress
from saas.imports import service as imports
from saas.imports.models import ImportJob
from saas.jobs.scheduler import scheduled_jobs
from saas.jobs.stale import GIVE_UP_AFTER, STALE_AFTER
from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime
from saas.schema.relay import decode_id, to_global_id
from saas.tenancy.session import tenant_session
from saas.tenant_data import exports as tenant_exports
from saas.tenant_data.models import TenantExport
from tests.imports.support import csv_bytes, run_to_end, start

START_EXPORT = """mutation($input: StartExportInput!) {
  startExport(input: $input) { job { id status } userErrors { field code message } }
}"""
TENANT_EXPORT = "mutation { exportTenantData { export { id status } userErrors { field code message } } }"

LATER = datetime.now(UTC) + STALE_AFTER * 2
MUCH_LATER = datetime.now(UTC) + GIVE_UP_AFTER * 2


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, uuid.UUID, uuid.UUID]]:
    """What the sweeps enqueue, instead of enqueueing it."""
    calls: list[tuple[str, uuid.UUID, uuid.UUID]] = []
    monkeypatch.setattr(exports, "request_export", lambda t, j: calls.append(("export", t, j)))
    monkeypatch.setattr(progress, "send_step", lambda t, j: calls.append(("import", t, j)))
    return calls


def _export(owner: GraphQLClient) -> uuid.UUID:
    job = owner.data(START_EXPORT, {"input": {"entity": "CUSTOMER", "format": "CSV"}})["startExport"]["job"]
    assert job["status"] == "PENDING"
    return decode_id(job["id"], "ExportJob")


def _import(owner: GraphQLClient, name: str) -> str:
    return str(start(owner, csv_bytes([["Name"], [name]]))["job"]["id"])


def _sweep(runtime: Runtime, tenant_id: uuid.UUID, sweep: Any, *args: Any) -> Any:
    with tenant_session(runtime.engine, tenant_id) as session:
        return sweep(session, *args)


def test_a_pending_export_is_sent_again_then_given_up(runtime: Runtime, owner: GraphQLClient, tenant, sent) -> None:
    job_id = _export(owner)
    sent.clear()  # the mutation's own message
    assert _sweep(runtime, tenant.id, exports.sweep_stale_exports) == (0, 0)  # not stale yet
    assert sent == []
    assert _sweep(runtime, tenant.id, exports.sweep_stale_exports, LATER) == (1, 0)
    assert sent == [("export", tenant.id, job_id)]
    assert _sweep(runtime, tenant.id, exports.sweep_stale_exports, MUCH_LATER) == (0, 1)
    assert len(sent) == 1
    with tenant_session(runtime.engine, tenant.id) as session:
        job = session.get(ExportJob, (tenant.id, job_id))
        assert job is not None and (job.status, job.error) == ("failed", exports.NOT_STARTED)
        events = session.scalars(select(OutboxEvent.type).where(OutboxEvent.type == "export.failed"))
        assert list(events) == ["export.failed"]
    # A finished export is never swept again.
    assert _sweep(runtime, tenant.id, exports.sweep_stale_exports, MUCH_LATER) == (0, 0)


def test_an_export_a_worker_holds_is_left_alone(runtime: Runtime, owner: GraphQLClient, tenant, sent) -> None:
    job_id = _export(owner)
    sent.clear()
    with tenant_session(runtime.engine, tenant.id) as worker:
        worker.scalars(select(ExportJob).where(ExportJob.id == job_id).with_for_update()).one()
        assert _sweep(runtime, tenant.id, exports.sweep_stale_exports, MUCH_LATER) == (0, 0)
    assert sent == []


def test_another_tenants_sweep_touches_nothing(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, tenant, other_tenant, sent
) -> None:
    job_id = _export(owner)
    import_id = decode_id(_import(owner, "Acme"), "ImportJob")
    owner.data(TENANT_EXPORT)
    sent.clear()
    enqueued: list[Any] = []
    assert _sweep(runtime, other_tenant.id, exports.sweep_stale_exports, MUCH_LATER) == (0, 0)
    assert _sweep(runtime, other_tenant.id, imports.sweep_stale_imports, LATER) == 0
    swept = _sweep(
        runtime, other_tenant.id, tenant_exports.sweep_stale_exports, lambda *a: enqueued.append(a), MUCH_LATER
    )
    assert swept == (0, 0) and sent == [] and enqueued == []
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.get(ExportJob, (tenant.id, job_id)).status == "pending"  # type: ignore[union-attr]
        assert session.get(ImportJob, (tenant.id, import_id)).status == "queued"  # type: ignore[union-attr]
        statuses = session.scalars(select(TenantExport.status)).all()
        assert statuses == ["pending"]


def test_a_pending_tenant_export_is_sent_again_then_given_up(runtime: Runtime, owner: GraphQLClient, tenant) -> None:
    export_id = decode_id(owner.data(TENANT_EXPORT)["exportTenantData"]["export"]["id"], "TenantExport")
    enqueued: list[tuple[uuid.UUID, uuid.UUID]] = []

    def enqueue(tenant_id: uuid.UUID, export: uuid.UUID) -> None:
        enqueued.append((tenant_id, export))

    assert _sweep(runtime, tenant.id, tenant_exports.sweep_stale_exports, enqueue) == (0, 0)
    assert _sweep(runtime, tenant.id, tenant_exports.sweep_stale_exports, enqueue, LATER) == (1, 0)
    assert enqueued == [(tenant.id, export_id)]
    assert _sweep(runtime, tenant.id, tenant_exports.sweep_stale_exports, enqueue, MUCH_LATER) == (0, 1)
    with tenant_session(runtime.engine, tenant.id) as session:
        export = session.get(TenantExport, (tenant.id, export_id))
        assert export is not None and (export.status, export.error) == ("failed", tenant_exports.NOT_STARTED)
        events = session.scalars(select(OutboxEvent.type).where(OutboxEvent.type == "tenant_export.failed"))
        assert list(events) == ["tenant_export.failed"]
    assert len(enqueued) == 1


def test_a_tenant_export_whose_worker_died_is_run_again_then_given_up(
    runtime: Runtime, owner: GraphQLClient, tenant, other_tenant
) -> None:
    export_id = decode_id(owner.data(TENANT_EXPORT)["exportTenantData"]["export"]["id"], "TenantExport")
    with tenant_session(runtime.engine, tenant.id) as session:  # a worker started it, wrote progress, died
        session.execute(
            update(TenantExport).where(TenantExport.id == export_id).values(status="running", tables_done=3)
        )
    enqueued: list[tuple[uuid.UUID, uuid.UUID]] = []

    def enqueue(tenant_id: uuid.UUID, export: uuid.UUID) -> None:
        enqueued.append((tenant_id, export))

    assert _sweep(runtime, tenant.id, tenant_exports.sweep_stale_exports, enqueue) == (0, 0)  # not stale yet
    assert _sweep(runtime, other_tenant.id, tenant_exports.sweep_stale_exports, enqueue, MUCH_LATER) == (0, 0)
    assert _sweep(runtime, tenant.id, tenant_exports.sweep_stale_exports, enqueue, LATER) == (1, 0)
    assert enqueued == [(tenant.id, export_id)]
    assert _sweep(runtime, tenant.id, tenant_exports.sweep_stale_exports, enqueue, MUCH_LATER) == (0, 1)
    with tenant_session(runtime.engine, tenant.id) as session:
        export = session.get(TenantExport, (tenant.id, export_id))
        assert export is not None and (export.status, export.error) == ("failed", tenant_exports.STOPPED)
        events = session.scalars(select(OutboxEvent.type).where(OutboxEvent.type == "tenant_export.failed"))
        assert list(events) == ["tenant_export.failed"]
    assert len(enqueued) == 1


def test_a_running_tenant_export_a_worker_holds_is_left_alone(runtime: Runtime, owner: GraphQLClient, tenant) -> None:
    export_id = decode_id(owner.data(TENANT_EXPORT)["exportTenantData"]["export"]["id"], "TenantExport")
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(update(TenantExport).where(TenantExport.id == export_id).values(status="running"))
    enqueued: list[Any] = []
    with tenant_session(runtime.engine, tenant.id) as worker:  # a live worker's run lock, held while it writes
        assert tenant_exports._claim_run(worker, export_id)
        sweep = tenant_exports.sweep_stale_exports
        assert _sweep(runtime, tenant.id, sweep, lambda *sent: enqueued.append(sent), MUCH_LATER) == (0, 0)
    assert enqueued == []
    with tenant_session(runtime.engine, tenant.id) as session:
        export = session.get(TenantExport, (tenant.id, export_id))
        assert export is not None and export.status == "running"


def test_a_stalled_import_gets_its_next_step_again(runtime: Runtime, owner: GraphQLClient, tenant, sent) -> None:
    stalled = _import(owner, "Acme")
    run_to_end(runtime, tenant.id, _import(owner, "Beta"))  # PREVIEWED: waits for its commit, not for a step
    sent.clear()
    assert _sweep(runtime, tenant.id, imports.sweep_stale_imports) == 0
    assert _sweep(runtime, tenant.id, imports.sweep_stale_imports, LATER) == 1
    assert sent == [("import", tenant.id, decode_id(stalled, "ImportJob"))]
    # The step sent again resumes the import; then nothing is stale any more.
    run_to_end(runtime, tenant.id, stalled)
    assert _sweep(runtime, tenant.id, imports.sweep_stale_imports, MUCH_LATER) == 0


def test_an_import_stalled_for_a_day_is_given_up_with_its_event(
    runtime: Runtime, owner: GraphQLClient, tenant, sent
) -> None:
    stalled = decode_id(_import(owner, "Acme"), "ImportJob")
    sent.clear()
    assert _sweep(runtime, tenant.id, imports.sweep_stale_imports, MUCH_LATER) == 0  # none sent again
    assert sent == []
    with tenant_session(runtime.engine, tenant.id) as session:
        job = session.get(ImportJob, (tenant.id, stalled))
        assert job is not None and (job.status, job.error) == ("failed", imports.GAVE_UP)
        payloads = session.scalars(select(OutboxEvent.payload).where(OutboxEvent.type == "import.failed")).all()
        assert [p["importJob"]["status"] for p in payloads] == ["FAILED"]
    # A failed import is finished: never swept again.
    assert _sweep(runtime, tenant.id, imports.sweep_stale_imports, MUCH_LATER) == 0
    failed = owner.data(
        "query($id: ID!) { importJob(id: $id) { status error } }", {"id": to_global_id("ImportJob", stalled)}
    )
    assert failed["importJob"] == {"status": "FAILED", "error": imports.GAVE_UP}


def test_the_sweeps_are_scheduled() -> None:
    import importlib

    from saas.jobs.broker import CORE_JOB_MODULES

    for module in CORE_JOB_MODULES:
        importlib.import_module(module)
    keys = {job.key for job in scheduled_jobs(None)}
    assert {
        "core:saas.exports.sweep_stale",
        "core:saas.tenant_data.sweep_stale",
        "core:saas.imports.sweep_stale",
    } <= keys


def test_a_tenant_export_sent_twice_runs_once_at_a_time(runtime: Runtime, owner: GraphQLClient, tenant) -> None:
    """While one worker runs the export, a second message for it does nothing."""
    from sqlalchemy import text

    export_id = decode_id(owner.data(TENANT_EXPORT)["exportTenantData"]["export"]["id"], "TenantExport")
    with tenant_session(runtime.engine, tenant.id) as running:
        running.execute(
            text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"), {"key": f"tenant_export:{export_id}"}
        )
        with tenant_session(runtime.engine, tenant.id) as second:
            assert tenant_exports.run_export(second, export_id, runtime.plugins).status == "pending"
    with tenant_session(runtime.engine, tenant.id) as session:
        assert tenant_exports.run_export(session, export_id, runtime.plugins).status == "completed"
