"""The commit applies the preview: stale rows, duplicates appearing since, refused commits, kill and resume."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from saas.events.models import OutboxEvent
from saas.imports import applying
from saas.imports.steps import run_step
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.imports.support import commit, csv_bytes, customer_count, job, rows_of, run_to_end, start

UPDATE_CUSTOMER = """mutation($input: UpdateCustomerInput!) {
  updateCustomer(input: $input) { customer { version } userErrors { code } }
}"""


def _preview(runtime, tenant, client, rows, **options) -> str:
    started = start(client, csv_bytes(rows), **options)
    assert started["userErrors"] == [], started
    run_to_end(runtime, tenant.id, started["job"]["id"])
    return str(started["job"]["id"])


def test_a_record_changed_since_the_preview_is_stale_not_overwritten(runtime, tenant, owner) -> None:
    seed = _preview(
        runtime, tenant, owner, [["Name", "Industry"], ["Acme", "Retail"], ["Beta", "Retail"]], dry_run=False
    )
    acme, beta = (r["recordId"] for r in rows_of(job(owner, seed)))
    job_id = _preview(
        runtime, tenant, owner, [["Name", "Industry"], ["Acme", "Food"], ["Beta", "Food"]], policy="UPDATE"
    )
    changed = owner.data(UPDATE_CUSTOMER, {"input": {"id": acme, "version": 1, "industry": "Mining"}})
    assert changed["updateCustomer"]["userErrors"] == []
    commit(owner, job_id)
    run_to_end(runtime, tenant.id, job_id)
    done = job(owner, job_id)
    assert (done["updated"], done["failed"]) == (1, 1)
    stale, applied = rows_of(done)
    assert stale["outcome"] == "FAIL" and stale["errors"][0]["code"] == "STALE"
    assert applied["outcome"] == "UPDATE" and applied["recordId"] == beta
    industry = owner.data("query($id: ID!) { customer(id: $id) { industry } }", {"id": acme})["customer"]["industry"]
    assert industry == "Mining"


def test_a_duplicate_appearing_since_the_preview_is_reported_not_duplicated(runtime, tenant, owner) -> None:
    job_id = _preview(runtime, tenant, owner, [["Name"], ["Gamma"]], policy="SKIP")
    assert rows_of(job(owner, job_id))[0]["outcome"] == "CREATE"
    _preview(runtime, tenant, owner, [["Name"], ["Gamma"]], dry_run=False)  # someone else made it meanwhile
    commit(owner, job_id)
    run_to_end(runtime, tenant.id, job_id)
    (row,) = rows_of(job(owner, job_id))
    assert row["outcome"] == "FAIL" and row["errors"][0]["code"] == "DUPLICATE"
    assert customer_count(runtime, tenant.id, "gamma") == 1


def test_commit_is_refused_unless_a_finished_dry_run(runtime, tenant, owner) -> None:
    applying_itself = start(owner, csv_bytes([["Name"], ["Delta"]]), dry_run=False)["job"]["id"]
    refused = commit(owner, applying_itself)
    assert refused["job"] is None and refused["userErrors"][0]["code"] == "INVALID_TRANSITION"
    unfinished = start(owner, csv_bytes([["Name"], ["Epsilon"]]))["job"]["id"]
    refused = commit(owner, unfinished)
    assert refused["userErrors"][0]["code"] == "INVALID_TRANSITION"
    assert job(owner, unfinished)["status"] == "QUEUED"
    bad_id = commit(owner, "not-an-id")
    assert bad_id["userErrors"][0]["code"] == "NOT_FOUND"


def test_a_worker_killed_mid_import_resumes_without_duplicates(runtime, tenant, owner, monkeypatch) -> None:
    rows = [["Name", "Email"]] + [[f"Company {i:03}", f"c{i}@example.com"] for i in range(30)]
    job_id = start(owner, csv_bytes(rows), dry_run=False)["job"]["id"]
    raw = decode_id(job_id, "ImportJob")
    for _ in range(3):  # parse, then two preview chunks of 10 rows
        with tenant_session(runtime.engine, tenant.id) as session:
            run_step(session, raw, row_chunk=10)
    while job(owner, job_id)["status"] != "COMMITTING":
        with tenant_session(runtime.engine, tenant.id) as session:
            run_step(session, raw, row_chunk=10)
    with tenant_session(runtime.engine, tenant.id) as session:
        run_step(session, raw, row_chunk=10)  # one chunk applied and committed
    assert customer_count(runtime, tenant.id) == 10

    # The next chunk dies half-way (the worker is killed) after writing its customers, contacts,
    # audit entries and events: its transaction never commits.
    real_record = applying.customers.record_created_many

    def dying(session, principal, rows):  # type: ignore[no-untyped-def]
        real_record(session, principal, rows)
        session.flush()
        raise SystemExit("killed")

    monkeypatch.setattr(applying.customers, "record_created_many", dying)
    with pytest.raises(SystemExit), tenant_session(runtime.engine, tenant.id) as session:
        run_step(session, raw, row_chunk=10)
    monkeypatch.setattr(applying.customers, "record_created_many", real_record)
    assert customer_count(runtime, tenant.id) == 10
    assert job(owner, job_id)["processedRows"] == 10

    run_to_end(runtime, tenant.id, job_id, row_chunk=10)  # another worker picks the import up
    done = job(owner, job_id)
    assert (done["status"], done["created"], done["processedRows"], done["failed"]) == ("COMPLETED", 30, 30, 0)
    assert customer_count(runtime, tenant.id) == 30
    with tenant_session(runtime.engine, tenant.id) as session:
        created_events = session.scalar(
            select(func.count()).select_from(OutboxEvent).where(OutboxEvent.type == "customer.created")
        )
    assert created_events == 30
