"""An import from dry run to commit: preview per row, commit = preview, counts and events."""

from __future__ import annotations

from sqlalchemy import select

from saas.events.models import OutboxEvent
from saas.tenancy.session import tenant_session
from tests.imports.support import commit, csv_bytes, customer_count, job, rows_of, run_to_end, start

HEADER = ["客户名称", "行业", "联系人", "手机", "邮箱", "下次跟进", "备注"]


def test_dry_run_then_commit(runtime, tenant, owner) -> None:
    data = csv_bytes(
        [
            HEADER,
            ["华为技术", "通信", "张三", "138 0013 8000", "Zhang@Example.com", "2024年1月31日", " 重要 "],
            ["Acme Ltd", "Retail", "", "", "", "2024/1/5", ""],
            ["", "Retail", "", "", "", "", ""],
        ],
        "gb18030",
    )
    started = start(owner, data)
    assert started["userErrors"] == [], started
    created = started["job"]
    assert created["status"] == "QUEUED" and created["encoding"] == "gb18030"
    assert created["mapping"] == {
        "客户名称": "name", "行业": "industry", "联系人": "contactName", "手机": "phone", "邮箱": "email",
        "下次跟进": "nextFollowUpAt", "备注": "notes",
    }  # fmt: skip
    run_to_end(runtime, tenant.id, created["id"])
    previewed = job(owner, created["id"])
    assert previewed["status"] == "PREVIEWED"
    assert (previewed["totalRows"], previewed["created"], previewed["failed"]) == (3, 2, 1)
    rows = rows_of(previewed)
    assert rows[0]["values"]["phone"] == "+8613800138000"
    assert rows[0]["values"]["email"] == "zhang@example.com"
    assert rows[0]["values"]["nextFollowUpAt"] == "2024-01-31"
    assert rows[2]["errors"] == [{"column": "客户名称", "code": "REQUIRED", "message": rows[2]["errors"][0]["message"]}]
    assert customer_count(runtime, tenant.id) == 0  # a dry run writes nothing

    committed = commit(owner, created["id"])
    assert committed["userErrors"] == [] and committed["job"]["status"] == "COMMITTING"
    run_to_end(runtime, tenant.id, created["id"])
    done = job(owner, created["id"])
    assert done["status"] == "COMPLETED"
    assert (done["created"], done["updated"], done["skipped"], done["failed"]) == (2, 0, 0, 1)
    assert [r["outcome"] for r in rows_of(done)] == [r["outcome"] for r in rows]
    assert customer_count(runtime, tenant.id) == 2
    with tenant_session(runtime.engine, tenant.id) as session:
        types = list(session.scalars(select(OutboxEvent.type).order_by(OutboxEvent.seq)))
    assert types.count("customer.created") == 2 and types.count("contact.created") == 1
    assert {"import.started", "import.previewed", "import.commit_started", "import.completed"} <= set(types)
    # A second commit is refused.
    again = commit(owner, created["id"])
    assert again["job"] is None and again["userErrors"][0]["code"] == "INVALID_TRANSITION"


LIST = "query($first: Int) { importJobs(first: $first) { totalCount edges { node { id status fileName mapping } } } }"


def test_reads_do_not_grow_with_the_page(runtime, tenant, owner) -> None:
    ids = [start(owner, csv_bytes([["Name"], [f"Company {i}"], ["Other"]]))["job"]["id"] for i in range(3)]
    for first in (1, 3):
        page = owner.data(LIST, {"first": first})["importJobs"]
        assert owner.last_statements == 1 and page["totalCount"] == 3 and len(page["edges"]) == first
    assert [edge["node"]["id"] for edge in owner.data(LIST, {"first": 3})["importJobs"]["edges"]] == ids[::-1]
    run_to_end(runtime, tenant.id, ids[0])
    counts = []
    for first in (1, 2):
        found = job(owner, ids[0], first=first)
        assert len(rows_of(found)) == first
        counts.append(owner.last_statements)
    assert counts[0] == counts[1]
    node = owner.data("query($id: ID!) { node(id: $id) { ... on ImportJob { id status } } }", {"id": ids[0]})["node"]
    assert node == {"id": ids[0], "status": "PREVIEWED"}
