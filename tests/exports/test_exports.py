"""Exports: the caller's visibility, both formats read back, bad filters, other tenants, events and audit."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from starlette.testclient import TestClient

from saas.exports.service import run_export
from saas.http import create_app
from saas.runtime import Runtime
from saas.schema.relay import from_global_id
from saas.tenancy.session import tenant_session
from tests.campaigns.support import customer, event_types
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.deals.support import create_opportunity, member_id

START = """mutation($input: StartExportInput!) {
  startExport(input: $input) { job { id status entity format } userErrors { field code message } }
}"""
JOB = """query($id: ID!) { exportJob(id: $id) { id entity format status rowCount downloadUrl expiresAt error } }"""


@pytest.fixture
def client(runtime: Runtime, graphql_engine: Any) -> Iterator[TestClient]:
    with TestClient(create_app(runtime, graphql_engine)) as test_client:
        yield test_client


def start(client: GraphQLClient, entity: str, file_format: str = "CSV", flt: Any = None) -> dict[str, Any]:
    variables: dict[str, Any] = {"entity": entity, "format": file_format}
    if flt is not None:
        variables["filter"] = flt
    return dict(client.data(START, {"input": variables})["startExport"])


def run(runtime: Runtime, tenant: TenantHandle, job_id: str) -> None:
    """What the export job does when the worker runs it."""
    with tenant_session(runtime.engine, tenant.id) as session:
        run_export(session, from_global_id(job_id)[1])


def exported(runtime: Runtime, tenant: TenantHandle, gql: GraphQLClient, http: TestClient, **start_args: Any) -> Any:
    payload = start(gql, **start_args)
    assert payload["userErrors"] == [], payload
    assert payload["job"]["status"] == "PENDING"
    run(runtime, tenant, payload["job"]["id"])
    job = gql.data(JOB, {"id": payload["job"]["id"]})["exportJob"]
    assert job["status"] == "COMPLETED" and job["downloadUrl"] and job["expiresAt"], job
    response = http.get(job["downloadUrl"])
    assert response.status_code == 200
    return job, response


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf")  # UTF-8 with a BOM: Excel reads the Chinese names right
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_a_reps_export_holds_only_their_customers(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, client: TestClient
) -> None:
    rep, other = add_member(owner, tenant, "sales"), add_member(owner, tenant, "sales")
    customer(owner, "北京客户", ["vip"], owner_id=member_id(rep))
    customer(owner, '=HYPERLINK("http://x")', owner_id=member_id(rep))
    customer(owner, "Someone else's", owner_id=member_id(other))
    job, response = exported(runtime, tenant, rep, client, entity="CUSTOMER")
    rows = csv_rows(response.content)
    assert rows[0][:3] == ["id", "name", "kind"]
    assert sorted(row[1] for row in rows[1:]) == ['\'=HYPERLINK("http://x")', "北京客户"]
    assert job["rowCount"] == 2
    assert "attachment" in response.headers["content-disposition"]
    # The link serves the file once; the job then shows no link.
    assert client.get(job["downloadUrl"]).status_code == 410
    assert rep.data(JOB, {"id": job["id"]})["exportJob"]["downloadUrl"] is None


def test_xlsx_with_a_filter_reads_back(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, client: TestClient
) -> None:
    customer(owner, "上海贸易", ["vip"])
    customer(owner, "Plain", [])
    job, response = exported(runtime, tenant, owner, client, entity="CUSTOMER", file_format="XLSX", flt={"tag": "vip"})
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    rows = [list(row) for row in sheet.iter_rows(values_only=True)]
    assert rows[0][1] == "name" and [row[1] for row in rows[1:]] == ["上海贸易"]
    assert rows[1][7] == "vip" and job["rowCount"] == 1


@pytest.mark.parametrize("entity", ["CONTACT", "LEAD", "OPPORTUNITY", "TICKET"])
def test_every_entity_exports(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, client: TestClient, entity: str
) -> None:
    acme = customer(owner, "Acme")
    owner.data(
        'mutation($id: ID!) { createContact(input: {customerId: $id, name: "Ann"}) { contact { id } } }', {"id": acme}
    )
    owner.data('mutation { createLead(input: {name: "Li Lei", company: "李雷公司"}) { lead { id } } }')
    create_opportunity(owner, acme, "10.00")
    owner.data(
        'mutation($id: ID!) { createTicket(input: {customerId: $id, subject: "Broken", body: "It broke"}) { ticket { id } } }',
        {"id": acme},
    )
    job, response = exported(runtime, tenant, owner, client, entity=entity)
    rows = csv_rows(response.content)
    assert job["rowCount"] == len(rows) - 1 == 1


BAD_FILTERS = [
    ({"colour": "red"}, ["input", "filter", "colour"], "UNKNOWN_FIELD"),
    ({"lifecycleStage": "ALIEN"}, ["input", "filter", "lifecycleStage"], "INVALID"),
    ({"unowned": "yes"}, ["input", "filter", "unowned"], "WRONG_TYPE"),
    ({"search": "x" * 201}, ["input", "filter", "search"], "TOO_LONG"),
    ({"ownerId": "bogus"}, ["input", "filter"], "INVALID"),
    ({"customField": {"key": "tier"}}, ["input", "filter", "customField", "equals"], "REQUIRED"),
    (["vip"], ["input", "filter"], "WRONG_TYPE"),
]


@pytest.mark.parametrize(("flt", "field", "code"), BAD_FILTERS, ids=[c + "-" + ".".join(f) for _, f, c in BAD_FILTERS])
def test_a_bad_filter_is_refused_and_starts_nothing(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient, flt: Any, field: list[str], code: str
) -> None:
    payload = start(owner, "CUSTOMER", flt=flt)
    assert payload["job"] is None
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)], payload
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM export_jobs")).scalar_one() == 0


def test_others_get_nothing_and_the_export_is_recorded(
    runtime: Runtime,
    tenant: TenantHandle,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    other_tenant: TenantHandle,
) -> None:
    customer(owner, "Acme")
    job_id = start(owner, "CUSTOMER")["job"]["id"]
    assert other_owner.error_codes(JOB, {"id": job_id}) == ["NOT_FOUND"]
    colleague = add_member(owner, tenant, "manager")
    assert colleague.error_codes(JOB, {"id": job_id}) == ["NOT_FOUND"]  # only who asked sees the job
    run(runtime, other_tenant, job_id)  # the other tenant's worker finds no such job
    assert owner.data(JOB, {"id": job_id})["exportJob"]["status"] == "PENDING"
    run(runtime, tenant, job_id)
    run(runtime, tenant, job_id)  # a second delivery does nothing
    assert owner.data(JOB, {"id": job_id})["exportJob"]["rowCount"] == 1
    types = event_types(runtime, tenant.id)
    assert types.count("export.requested") == 1 and types.count("export.completed") == 1
    with tenant_session(runtime.engine, tenant.id) as session:
        audited = session.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE kind = 'access' AND action = 'export' AND entity_id = 'customers'"
            )
        ).scalar_one()
        assert audited == 1
        assert session.execute(text("SELECT count(*) FROM downloads")).scalar_one() == 1


def test_every_subquery_carries_the_bound_tenant() -> None:
    """Like every compiled read: each table read names `:tenant_id`, none correlates on `r.tenant_id`."""
    import re

    from saas.db.conditions import SqlCondition
    from saas.exports.sources import SOURCES

    for source in SOURCES.values():
        sql = source.select_sql(SqlCondition())
        aliases = re.findall(r"\bFROM\s+\w+\s+(\w+)", sql)
        assert aliases, sql
        for alias in aliases:
            assert f"{alias}.tenant_id = :tenant_id" in sql, (source.entity, alias)
        assert "= r.tenant_id" not in sql, source.entity


def test_a_second_tenants_export_holds_none_of_the_firsts_rows(
    runtime: Runtime,
    tenant: TenantHandle,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    other_tenant: TenantHandle,
    client: TestClient,
) -> None:
    with runtime.engine.connect() as conn:  # the application role, under row-level security
        assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar() is False
    acme = customer(owner, "Acme first")
    create_opportunity(owner, acme, "10.00")
    owner.data('mutation { createLead(input: {name: "First lead"}) { lead { id } } }')
    mine = customer(other_owner, "Other's own")
    create_opportunity(other_owner, mine, "20.00")
    for entity, expected in (("CUSTOMER", "Other's own"), ("OPPORTUNITY", "Other's own"), ("LEAD", None)):
        _, response = exported(runtime, other_tenant, other_owner, client, entity=entity)
        body = response.content.decode("utf-8-sig")
        assert "first" not in body.lower() and acme not in body, (entity, body)
        rows = csv_rows(response.content)[1:]
        assert len(rows) == (0 if expected is None else 1)
        if expected is not None:
            assert expected in rows[0]
