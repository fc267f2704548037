"""Customer.timeline: activities, tasks, handovers and pool returns merged, newest first, keyset-paged, one statement."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import text

from saas.db.statements import counting
from saas.followups import timeline
from saas.followups.pool import return_idle_customers
from saas.followups.sources import TimelineSource
from saas.followups.timeline import TIMELINE_SOURCES
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.followups.helpers import (
    COMPLETE_TASK,
    NODE,
    TIMELINE,
    TRANSFER,
    create_contact,
    create_customer,
    create_task,
    log_activity,
    member_id,
    set_column,
)


def _entries(client: GraphQLClient, customer: str, first: int = 20, after: str | None = None) -> dict:
    return client.data(TIMELINE, {"id": customer, "first": first, "after": after})["customer"]["timeline"]


def test_the_timeline_merges_every_source_newest_first(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner, "Timeline Co", ownerId=None)
    contact = create_contact(owner, customer)
    call = log_activity(owner, customer, "First call", occurredAt="2026-01-01T09:00:00+00:00")
    visit = log_activity(owner, contact, "Visited Jane", occurredAt="2026-01-03T09:00:00+00:00")
    task = create_task(owner, customer, "2026-12-31T00:00:00+00:00", "Send the offer")
    owner.data(COMPLETE_TASK, {"input": {"id": task["id"]}})
    transfer = owner.data(
        TRANSFER, {"input": {"ids": [customer], "toMemberId": member_id(rep), "note": "Rep's region"}}
    )
    assert transfer["transferCustomers"]["userErrors"] == []
    # Idle since long ago: the pool job takes it back.
    long_ago = datetime.now(UTC) - timedelta(days=400)
    set_column(runtime, tenant.id, "UPDATE customer_handovers SET occurred_at = :t", t=long_ago)
    set_column(runtime, tenant.id, "UPDATE customers SET created_at = :t, last_contacted_at = :t", t=long_ago)
    with tenant_session(runtime.engine, tenant.id) as session:
        assert [c.id for c in return_idle_customers(session, tenant.id)] == [decode_id(customer, "Customer")]

    timeline = _entries(owner, customer)
    kinds = [(e["node"]["kind"], e["node"]["summary"]) for e in timeline["edges"]]
    assert kinds == [
        ("POOL_RETURN", "No follow-up for 30 days"),
        ("TASK_COMPLETED", "Send the offer"),
        ("TASK_CREATED", "Send the offer"),
        ("ACTIVITY", "CALL: Visited Jane"),
        ("ACTIVITY", "CALL: First call"),
        ("TRANSFER", "Rep's region"),  # moved back 400 days above
    ]
    actors = [e["node"]["actor"] for e in timeline["edges"]]
    assert actors == [None] + [{"id": member_id(owner)}] * 5  # the pool job acts for no one
    records = {e["node"]["recordId"] for e in timeline["edges"]}
    assert {call["id"], visit["id"], task["id"]} <= records
    # A record id is a Node: node(id) reads it.
    pool_return = timeline["edges"][0]["node"]["recordId"]
    handover = owner.data(NODE, {"id": pool_return})["node"]
    assert handover["__typename"] == "CustomerHandover" and handover["handoverKind"] == "POOL_RETURN"
    assert handover["fromMember"] == {"id": member_id(rep)} and handover["toMember"] is None


def test_the_timeline_is_keyset_paged(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    for day in range(1, 8):
        log_activity(owner, customer, f"Call {day}", occurredAt=f"2026-02-0{day}T09:00:00+00:00")
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = _entries(owner, customer, first=3, after=after)
        seen += [e["node"]["summary"] for e in page["edges"]]
        pages += 1
        assert page["pageInfo"]["hasPreviousPage"] is (after is not None)
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert pages == 3
    assert seen == [f"CALL: Call {day}" for day in range(7, 0, -1)]
    assert owner.error_codes(TIMELINE, {"id": customer, "after": "bm90IGEgY3Vyc29y"}) == ["BAD_USER_INPUT"]


def test_one_statement_reads_the_timelines_of_a_page_of_customers(owner: GraphQLClient, runtime: Runtime) -> None:
    query = "{ customers(first: 10) { edges { node { id timeline(first: 5) { edges { node { kind summary } } } } } } }"

    def statements() -> int:
        with counting() as box:
            owner.data(query)
        return box[0]

    create_customer(owner, "A")
    log_activity(owner, create_customer(owner, "B"))
    few = statements()
    for index in range(6):
        customer = create_customer(owner, f"C{index}")
        for _ in range(3):
            log_activity(owner, customer)
    assert statements() == few


def test_every_source_has_its_own_name() -> None:
    names = [source.name for source in TIMELINE_SOURCES]
    assert len(names) == len(set(names)) and {"activities", "handovers"} <= set(names)


# Where each source's `actor_id` comes from: a (table, column) or None for a NULL actor. A new
# source must be added here, and its column must hold a foreign key to memberships: the compiled
# timeline writes `actor { id }` from it without a lookup (`TimelineSource`).
ACTOR_COLUMNS: dict[str, tuple[str, str] | None] = {
    "activities": ("activities", "actor_id"),
    "tasks_created": ("tasks", "created_by_id"),
    "tasks_completed": ("tasks", "completed_by_id"),
    "handovers": ("customer_handovers", "actor_id"),
    "stage_changes": ("opportunity_stage_changes", "changed_by_id"),
    "tickets_opened": None,
    "tickets_commented": ("ticket_comments", "author_id"),
    "tickets_resolved": ("tickets", "assignee_id"),
    "timeline_entries": ("timeline_entries", "actor_id"),
}

MEMBER_KEYS = """
SELECT c.conrelid::regclass::text, a.attname
FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[2]
WHERE c.contype = 'f' AND c.confrelid = 'memberships'::regclass
  AND array_length(c.conkey, 1) = 2 AND pg_get_constraintdef(c.oid) LIKE 'FOREIGN KEY (tenant_id, %) REFERENCES memberships(tenant_id, id)%'
"""


def _outside_parentheses(sql: str) -> str:
    """`sql` without its parenthesised parts (a subquery in a select list has a FROM of its own)."""
    while True:
        shorter = re.sub(r"\([^()]*\)", "", sql)
        if shorter == sql:
            return sql
        sql = shorter


def test_every_sources_actor_is_a_foreign_key_to_a_member_of_the_tenant(
    runtime: Runtime, owner: GraphQLClient, principal_of
) -> None:
    assert set(ACTOR_COLUMNS) == {source.name for source in TIMELINE_SOURCES}
    with runtime.engine.connect() as connection:
        member_keys = {(table, column) for table, column in connection.execute(text(MEMBER_KEYS))}
    principal = principal_of(owner)
    for source in TIMELINE_SOURCES:
        actor = ACTOR_COLUMNS[source.name]
        selected = _outside_parentheses(source.sql(principal)[0]).split(" FROM ", 1)[0]  # the select list
        if actor is None:
            assert "NULL::uuid" in selected, source.name
        else:
            assert actor in member_keys, (source.name, actor)
            assert f".{actor[1]}, " in selected, (source.name, selected)


def test_a_declared_source_joins_the_timeline(owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch) -> None:
    """What the deals domain does for stage changes: one more SELECT in the union."""
    customer = create_customer(owner)
    log_activity(owner, customer, "A call", occurredAt="2026-03-01T09:00:00+00:00")

    def stage_changes(principal: object) -> tuple[str, dict]:
        return (
            "SELECT c.id, TIMESTAMPTZ '2026-03-02 09:00:00+00', c.id, 'STAGE_CHANGE'::varchar, 'Won'::text, "
            "NULL::uuid, 'Customer'::varchar FROM customers c WHERE c.tenant_id = :tenant_id",
            {},
        )

    monkeypatch.setattr(timeline, "TIMELINE_SOURCES", (*TIMELINE_SOURCES, TimelineSource("stages", stage_changes)))
    kinds = [e["node"]["kind"] for e in _entries(owner, customer)["edges"]]
    assert kinds == ["STAGE_CHANGE", "ACTIVITY"]


def test_another_tenant_cannot_read_the_timeline(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    log_activity(owner, customer)
    assert other_owner.error_codes(TIMELINE, {"id": customer}) == ["NOT_FOUND"]


def test_a_rep_sees_only_their_own_tasks_in_a_shared_timeline(
    owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient
) -> None:
    pool = create_customer(owner, "Pool")
    create_task(rep, pool, "2030-01-01T00:00:00+00:00", "Mine")
    create_task(other_rep, pool, "2030-01-01T00:00:00+00:00", "Theirs")
    summaries = [e["node"]["summary"] for e in _entries(rep, pool)["edges"]]
    assert summaries == ["Mine"]
    assert sorted(e["node"]["summary"] for e in _entries(owner, pool)["edges"]) == ["Mine", "Theirs"]


def test_the_fields_added_to_customer_bring_their_types_into_the_schema() -> None:
    """`Customer.timeline` is added after the schema is built: its connection types must be declared too,
    or a client could not build the schema from introspection."""
    from graphql import build_client_schema, get_introspection_query, graphql_sync

    from saas.schema.builder import build_schema

    schema = build_schema()._schema
    client_schema = build_client_schema(graphql_sync(schema, get_introspection_query()).data)  # type: ignore[arg-type]
    customer = client_schema.get_type("Customer")
    assert str(customer.fields["timeline"].type) == "TimelineEntryConnection!"  # type: ignore[union-attr]
    assert str(customer.fields["tasks"].type) == "[Task!]!"  # type: ignore[union-attr]
