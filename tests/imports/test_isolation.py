"""Tenants and members: another tenant's imports are not found, not committed and never matched; reps see their own."""

from __future__ import annotations

from sqlalchemy import text

from saas.imports.models import ImportJob
from saas.tenancy.session import tenant_session
from tests.conftest import add_member
from tests.imports.support import JOB, commit, csv_bytes, customer_count, job, rows_of, run_to_end, start


def test_another_tenant_cannot_read_or_commit_an_import(runtime, tenant, owner, other_tenant, other_owner) -> None:
    started = start(owner, csv_bytes([["Name"], ["Acme"]]))
    job_id = started["job"]["id"]
    run_to_end(runtime, tenant.id, job_id)
    assert other_owner.error_codes(JOB, {"id": job_id}) == ["NOT_FOUND"]
    assert other_owner.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": job_id}) == ["NOT_FOUND"]
    assert other_owner.data("{ importJobs { totalCount } }")["importJobs"]["totalCount"] == 0
    refused = commit(other_owner, job_id)
    assert refused["job"] is None and refused["userErrors"][0]["code"] == "NOT_FOUND"
    assert job(owner, job_id)["status"] == "PREVIEWED"
    # Nor does tenant B's run of the job's id do anything in B.
    run_to_end(runtime, other_tenant.id, job_id)
    assert customer_count(runtime, other_tenant.id) == 0


def test_imports_never_match_another_tenants_records(runtime, tenant, owner, other_tenant, other_owner) -> None:
    seeded = start(owner, csv_bytes([["Name", "Email"], ["Acme", "ann@acme.example"]]), dry_run=False)
    run_to_end(runtime, tenant.id, seeded["job"]["id"])
    started = start(other_owner, csv_bytes([["Name", "Email"], ["Acme", "ann@acme.example"]]), policy="UPDATE")
    run_to_end(runtime, other_tenant.id, started["job"]["id"])
    (row,) = rows_of(job(other_owner, started["job"]["id"]))
    assert row["outcome"] == "CREATE" and row["matchedId"] is None


def test_row_level_security_hides_imports_from_other_tenants(runtime, tenant, owner, other_tenant) -> None:
    start(owner, csv_bytes([["Name"], ["Acme"]]))
    # The application role, bound to tenant B, sees none of A's jobs or rows even without the ORM filter.
    with tenant_session(runtime.engine, other_tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM import_jobs")).scalar() == 0
        assert session.execute(text("SELECT count(*) FROM import_rows")).scalar() == 0
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.query(ImportJob).count() == 1


def test_reps_see_their_own_imports_and_update_only_what_they_may(
    runtime, tenant, owner, cheap_password_hashing
) -> None:
    seeded = start(owner, csv_bytes([["Name"], ["Owned by nobody"]]), dry_run=False)
    run_to_end(runtime, tenant.id, seeded["job"]["id"])
    rep = add_member(owner, tenant, "sales")
    other_rep = add_member(owner, tenant, "sales")
    mine = start(rep, csv_bytes([["Name", "Industry"], ["Rep Co", "Retail"]]), dry_run=False)
    run_to_end(runtime, tenant.id, mine["job"]["id"])
    assert job(rep, mine["job"]["id"])["created"] == 1
    assert other_rep.error_codes(JOB, {"id": mine["job"]["id"]}) == ["NOT_FOUND"]
    assert owner.data("{ importJobs { totalCount } }")["importJobs"]["totalCount"] == 2
    assert rep.data("{ importJobs { totalCount } }")["importJobs"]["totalCount"] == 1
    # Another rep's customer matches, but it is not theirs to change.
    theirs = start(other_rep, csv_bytes([["Name", "Industry"], ["Rep Co", "Mining"]]), policy="UPDATE")
    run_to_end(runtime, tenant.id, theirs["job"]["id"])
    (row,) = rows_of(job(other_rep, theirs["job"]["id"]))
    assert row["outcome"] == "FAIL" and row["errors"][0]["code"] == "DUPLICATE"


def test_viewers_cannot_import(runtime, tenant, owner, cheap_password_hashing) -> None:
    viewer = add_member(owner, tenant, "viewer")
    assert viewer.error_codes(
        "mutation($input: StartImportInput!) { startImport(input: $input) { job { id } } }",
        {"input": {"entity": "CUSTOMER", "fileName": "c.csv", "content": "TmFtZQpB", "dryRun": True,
                   "duplicatePolicy": "SKIP"}},
    ) == ["FORBIDDEN"]  # fmt: skip
