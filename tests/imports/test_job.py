"""The import's background job: run by the job runner (exactly-once record, the tenant's session),
and the batched duplicate rule agreeing with the single one."""

from __future__ import annotations

from saas.customers.duplicates import find_duplicates, find_duplicates_many, normalise_company, normalise_email
from saas.imports.jobs import run_step
from saas.jobs.runner import JobRunner
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.imports.support import csv_bytes, customer_count, job, start


def test_the_job_runs_an_import_chunk_by_chunk(runtime, tenant, owner, other_tenant) -> None:
    job_id = start(owner, csv_bytes([["Name"], ["Acme"], ["Beta"]]), dry_run=False)["job"]["id"]
    runner = JobRunner(runtime.engine, None, {})
    raw = str(decode_id(job_id, "ImportJob"))
    runner.run(run_step, other_tenant.id, (raw,), {})  # another tenant's message finds no such import
    assert job(owner, job_id)["status"] == "QUEUED"
    for _ in range(5):  # parse, preview, end of preview, apply, end of commit
        runner.run(run_step, tenant.id, (raw,), {})
    done = job(owner, job_id)
    assert (done["status"], done["created"]) == ("COMPLETED", 2)
    runner.run(run_step, tenant.id, (raw,), {})  # a late duplicate message does nothing
    assert customer_count(runtime, tenant.id) == 2


def test_the_batched_duplicate_rule_names_what_the_single_one_does(runtime, tenant, owner) -> None:
    seeded = start(owner, csv_bytes([["Name", "Email"], ["Acme", "ann@acme.example"]]), dry_run=False)
    runner = JobRunner(runtime.engine, None, {})
    for _ in range(5):
        runner.run(run_step, tenant.id, (str(decode_id(seeded["job"]["id"], "ImportJob")),), {})
    with tenant_session(runtime.engine, tenant.id) as session:
        single = find_duplicates(session, tenant.id, email=("email", "ANN@acme.example"), company=("company", "ACME"))
        many = find_duplicates_many(
            session,
            tenant.id,
            {"e-mail": {normalise_email("ANN@acme.example")}, "company name": {normalise_company("ACME")}},
        )
    assert {(m.on, m.type_name, m.id) for _, m in single} == {(m.on, m.type_name, m.id) for m in many.values()}
    assert len(many) == 2
