"""The set-based commit of customer rows writes what the services write, row for row.

The same file is committed in two tenants set up alike: in one through the domain services (one
row at a time, `applying.BATCHED` off), in the other set-based. Customers, contacts (with a core
field the tenant stores sealed), audit entries, outbox events (types, payloads, order) and the
rows' outcomes and the live messages must be the same, ids and times aside.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from saas.imports import applying
from saas.realtime import channel
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.imports.support import commit, csv_bytes, job, rows_of, run_to_end, start

SET_SENSITIVE = """mutation($input: SetSensitiveFieldsInput!) {
  setSensitiveFields(input: $input) { userErrors { code } }
}"""
CREATE_LEAD = """mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } userErrors { code } } }"""

ROWS = [
    ["Name", "Kind", "Industry", "Tags", "Stage", "Next follow up", "Contact", "Title", "Email", "Phone"],
    ["Acme Trading", "company", "Retail", "vip;North", "prospect", "2024/1/31", "Ann Lee", "CEO", "ann@acme.example",
     "13800000001"],
    ["Beta Foods", "", "Food", "", "", "", "", "", "", ""],
    ["Wang Wei", "个人", "", "", "客户", "", "", "", "", "13800000002"],
    ["Leadco", "", "Mining", "", "", "", "Bob", "", "bob@leadco.example", ""],  # an existing lead's company
    ["Gamma Ltd", "", "", "x", "", "2024年2月1日", "Cy", "", "cy@gamma.example", ""],
]  # fmt: skip

_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_VOLATILE = frozenset({"id", "createdAt", "updatedAt", "created_at", "updated_at", "version_id", "committed_at"})


def _plain(value: Any) -> Any:
    """`value` with ids, global ids, times and ciphertexts replaced by what kind of value they are."""
    if isinstance(value, dict):
        if "$sensitive" in value:  # sealed under each tenant's own key: the mask tells the value
            return {"sealed": value.get("mask")}
        return {k: ("<set>" if v is not None else None) if k in _VOLATILE else _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, str):
        value = _UUID.sub("<uuid>", value)
        return re.sub(r"\([A-Za-z0-9+/=_-]{20,}\)", "(<global id>)", value)
    return value


def _written(runtime: Runtime, tenant_id: uuid.UUID) -> dict[str, Any]:
    """What the commit wrote, in order, ids and times aside."""
    queries = {
        "customers": "SELECT name, kind, industry, tier, lifecycle_stage, owner_id IS NOT NULL, source, tags, "
        "custom_fields, notes, next_follow_up_at, version, deleted_at FROM customers c WHERE tenant_id = :t "
        "ORDER BY name",
        "contacts": "SELECT (SELECT name FROM customers c WHERE c.id = ct.customer_id), name, title, email, phone, "
        "is_primary, custom_fields, sensitive ? 'phone', version FROM contacts ct WHERE tenant_id = :t ORDER BY 1, 2",
        "audit": "SELECT action, entity_type, before, after, actor_label LIKE 'owner@%' FROM audit_log WHERE tenant_id = :t "
        "AND (action LIKE 'customer.%' OR action LIKE 'contact.%') ORDER BY id",
        "events": "SELECT type, payload, cardinality(webhook_ids), causation_depth FROM outbox_events "
        "WHERE tenant_id = :t AND (type LIKE 'customer.%' OR type LIKE 'contact.%') ORDER BY seq",
    }
    with tenant_session(runtime.engine, tenant_id) as session:
        return {
            name: [_plain(list(r)) for r in session.execute(text(sql), {"t": tenant_id}).all()]
            for name, sql in queries.items()
        }


def _commit_file(runtime: Runtime, tenant: Any, client: Any, policy: str) -> tuple[list[Any], list[Any]]:
    """The file committed: its rows as `importJob` shows them, and the live messages of the
    tenant's `customers` topic during the commit."""
    assert (
        client.data(SET_SENSITIVE, {"input": {"entity": "CONTACT", "fields": ["phone"]}})["setSensitiveFields"][
            "userErrors"
        ]
        == []
    )
    lead = client.data(CREATE_LEAD, {"input": {"name": "Someone", "company": "Leadco"}})["createLead"]
    assert lead["userErrors"] == [], lead
    started = start(client, csv_bytes(ROWS), policy=policy)
    assert started["userErrors"] == [], started
    job_id = started["job"]["id"]
    run_to_end(runtime, tenant.id, job_id)
    listener = runtime.redis.pubsub(ignore_subscribe_messages=True)
    listener.subscribe(channel(tenant.id, "customers"))
    assert listener.get_message(timeout=1.0) is None  # the subscription's confirmation
    assert commit(client, job_id)["userErrors"] == []
    run_to_end(runtime, tenant.id, job_id, row_chunk=3)
    done = job(client, job_id)
    assert done["status"] == "COMPLETED"
    live = []
    while (message := listener.get_message(timeout=1.0)) is not None:
        live.append(_plain(orjson.loads(message["data"])))
    listener.close()
    rows = [
        {k: _plain(v) for k, v in row.items() if k not in ("recordId", "matchedId")} | {"made": bool(row["recordId"])}
        for row in rows_of(done)
    ]
    return rows, live


@pytest.mark.parametrize("policy", ["SKIP", "CREATE"])
def test_the_batched_commit_writes_what_the_services_write(
    runtime, tenant, owner, other_tenant, other_owner, monkeypatch, policy
) -> None:
    monkeypatch.setattr(applying, "BATCHED", False)
    one_by_one, live_one_by_one = _commit_file(runtime, tenant, owner, policy)
    monkeypatch.setattr(applying, "BATCHED", True)
    batched, live_batched = _commit_file(runtime, other_tenant, other_owner, policy)

    assert batched == one_by_one
    assert live_batched == live_one_by_one
    assert [m["kind"] for m in live_batched][:2] == ["customer.created", "contact.created"]
    outcomes = [row["outcome"] for row in batched]
    assert outcomes == (["CREATE"] * 5 if policy == "CREATE" else ["CREATE"] * 3 + ["FAIL", "CREATE"])
    expected, written = _written(runtime, tenant.id), _written(runtime, other_tenant.id)
    for part in ("customers", "contacts", "audit", "events"):
        assert written[part] == expected[part], part
    assert len(written["customers"]) == outcomes.count("CREATE")
    assert [e[0] for e in written["events"]][:3] == ["customer.created", "contact.created", "customer.created"]
    assert any(c[7] for c in written["contacts"])  # the phone is sealed, as the service seals it
