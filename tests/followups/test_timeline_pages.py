"""The compiled timeline takes the first entries of each source and merges them
(`PagedRelation.parts`): its pages are those of the resolver path (one union, sorted, cut),
entry for entry, whatever the sources hold: entries at one instant across sources, a source with
more entries than a page, none at all, a deleted subject, another tenant's entries.
"""

from __future__ import annotations

from typing import Any

from saas.followups.timeline import TIMELINE_SOURCES
from saas.runtime import Runtime
from saas.schema import compiler
from saas.schema.relay import decode_id
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import create_opportunity, move, stages
from tests.followups.helpers import (
    COMPLETE_TASK,
    create_contact,
    create_customer,
    create_task,
    log_activity,
    set_column,
)

SELECTIONS = {
    "everything": """edges { cursor node { kind occurredAt summary recordId actor { id } } }
        pageInfo { hasNextPage hasPreviousPage startCursor endCursor }""",
    "cursors only": "edges { cursor } pageInfo { startCursor endCursor }",
    "page info only": "pageInfo { hasNextPage endCursor }",
    "nodes only": "edges { node { kind recordId } } pageInfo { hasNextPage }",
}


def _query(selection: str) -> str:
    return f"""query Timeline($id: ID!, $first: Int, $after: String) {{
      customer(id: $id) {{ timeline(first: $first, after: $after) {{ {selection} }} }}
    }}"""


def _query(selection: str, resolved: bool = False) -> str:
    """The timeline of a customer; `resolved`: with a field that has no SQL (`Task.customer`),
    so that the resolver path answers the customer, timeline included."""
    extra = "resolved: tasks { customer { id } }" if resolved else ""
    return f"""query Timeline($id: ID!, $first: Int, $after: String) {{
      customer(id: $id) {{ timeline(first: $first, after: $after) {{ {selection} }} {extra} }}
    }}"""


def _pages(
    client: GraphQLClient,
    customer: str,
    first: int,
    selection: str = SELECTIONS["everything"],
    resolved: bool = False,
) -> list[Any]:
    """Every page of the customer's timeline, following `endCursor` (added to the selection)."""
    query = _query(selection.replace("pageInfo {", "pageInfo { hasNextPage endCursor", 1), resolved)
    pages, after = [], None
    for _ in range(100):  # a cursor that does not move the page on fails here, not forever
        timeline = client.data(query, {"id": customer, "first": first, "after": after})["customer"]["timeline"]
        pages.append(timeline)
        if not timeline["pageInfo"]["hasNextPage"]:
            return pages
        after = timeline["pageInfo"]["endCursor"]
    raise AssertionError("the pages never end")


def _both_paths(client: GraphQLClient, customer: str, firsts: tuple[int, ...] = (1, 2, 3, 20)) -> list[Any]:
    """The pages of each selection and page size, compiled (one statement each) and resolved
    (more): equal. The entries of every page, in order."""
    compiled = {}
    for name, selection in SELECTIONS.items():
        for first in firsts:
            compiled[name, first] = _pages(client, customer, first, selection)
            assert client.last_statements == 1
            assert _pages(client, customer, first, selection, resolved=True) == compiled[name, first], (name, first)
            assert client.last_statements > 1
    return [edge for page in compiled["everything", max(firsts)] for edge in page["edges"]]


def _record(entry: dict[str, Any]) -> tuple[str, str]:
    """An entry's (record id, kind): the order of entries at one instant, descending."""
    node = entry["node"]
    type_name = "Activity" if node["kind"] == "ACTIVITY" else "Task"
    return str(decode_id(node["recordId"], type_name)), node["kind"]


def test_the_compiled_page_is_a_union_of_each_sources_first_entries(owner: GraphQLClient) -> None:
    """One limited, ordered page per source inside the statement; the cursor written once per row."""
    customer = create_customer(owner)
    log_activity(owner, customer, "A call")
    compiler.COMPILED.entries.clear()
    assert owner.data(_query(SELECTIONS["everything"]), {"id": customer, "first": 5})["customer"]["timeline"]["edges"]
    compiled = [entry.sql for entries in compiler.COMPILED.entries.values() for entry in entries]
    (sql,) = [sql for sql in compiled if "TASK_CREATED" in sql]
    # each source's page, then the merged page: `first + 1` rows, the size written into the statement
    assert sql.count(" LIMIT 6") == len(TIMELINE_SOURCES) + 1
    assert " LIMIT %(" not in sql
    assert sql.count("AS page_cursor") == 1


def test_entries_at_one_instant_across_sources_are_ordered_as_the_resolver_path_orders_them(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner, "Same Instant Ltd")
    for n in range(3):
        log_activity(owner, customer, f"Call {n}")
        task = create_task(owner, customer, "2030-01-01T09:00:00+00:00", f"Task {n}")
        owner.data(COMPLETE_TASK, {"input": {"id": task["id"]}})
    instant = "2026-05-05 12:00:00+00"  # every entry; a task's creation and completion share an id too
    set_column(runtime, tenant.id, "UPDATE activities SET occurred_at = :t", t=instant)
    set_column(runtime, tenant.id, "UPDATE tasks SET created_at = :t, completed_at = :t", t=instant)
    entries = _both_paths(owner, customer)
    assert len(entries) == 9 and {e["node"]["occurredAt"] for e in entries} == {"2026-05-05T12:00:00.000000+00:00"}
    records = [_record(e) for e in entries]
    assert records == sorted(records, reverse=True)  # by id, then kind, descending


def test_a_source_with_more_entries_than_a_page(owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime) -> None:
    customer = create_customer(owner, "Busy Ltd")
    for n in range(25):
        log_activity(owner, customer, f"Call {n}", occurredAt=f"2026-01-{n + 1:02d}T09:00:00+00:00")
    create_task(owner, customer, "2030-01-01T09:00:00+00:00", "In between")
    set_column(runtime, tenant.id, "UPDATE tasks SET created_at = '2026-01-10 10:00:00+00'")
    entries = _both_paths(owner, customer, firsts=(1, 7, 20))
    summaries = [e["node"]["summary"] for e in entries]
    assert len(summaries) == 26 == len(set(summaries)) == len({e["cursor"] for e in entries})
    assert summaries.index("In between") == 15  # after the calls of the 25th to the 11th
    first_page = owner.data(_query(SELECTIONS["everything"]), {"id": customer, "first": 20})
    assert len(first_page["customer"]["timeline"]["edges"]) == 20
    assert first_page["customer"]["timeline"]["pageInfo"]["hasNextPage"] is True


def test_an_empty_timeline(owner: GraphQLClient) -> None:
    customer = create_customer(owner, "Quiet Ltd")
    assert _pages(owner, customer, 5) == [
        {
            "edges": [],
            "pageInfo": {"hasNextPage": False, "endCursor": None, "hasPreviousPage": False, "startCursor": None},
        }
    ]
    assert _both_paths(owner, customer, firsts=(1, 5)) == []


def test_a_deleted_subjects_entries_leave_every_page(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    """The newest entries are about a contact deleted since: the pages hold the others, full."""
    customer = create_customer(owner, "Deleted Contact Ltd")
    contact = create_contact(owner, customer, "Gone Person")
    for n in range(4):
        log_activity(owner, customer, f"Kept {n}", occurredAt=f"2026-02-0{n + 1}T09:00:00+00:00")
        log_activity(owner, contact, f"Gone {n}", occurredAt=f"2026-03-0{n + 1}T09:00:00+00:00")
    gone = decode_id(contact, "Contact")
    set_column(runtime, tenant.id, "UPDATE contacts SET deleted_at = now() WHERE id = :id", id=gone)
    entries = _both_paths(owner, customer, firsts=(1, 3))
    assert [e["node"]["summary"] for e in entries] == [f"CALL: Kept {n}" for n in (3, 2, 1, 0)]


def test_another_tenants_entries_at_the_same_instants_never_appear(
    owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    """Two tenants' customers with entries at the same instants, read through row-level security
    as the application role: each timeline holds its own tenant's entries only."""
    mine = create_customer(owner, "Mine Ltd")
    theirs = create_customer(other_owner, "Theirs Ltd")
    for n in range(3):
        at = f"2026-04-0{n + 1}T09:00:00+00:00"
        log_activity(owner, mine, f"Mine {n}", occurredAt=at)
        log_activity(other_owner, theirs, f"Theirs {n}", occurredAt=at)
        create_task(other_owner, theirs, "2030-01-01T09:00:00+00:00", f"Their task {n}")
    assert other_owner.error_codes(_query(SELECTIONS["everything"]), {"id": mine, "first": 5}) == ["NOT_FOUND"]
    theirs_entries = [e["node"]["summary"] for page in _pages(other_owner, theirs, 2) for e in page["edges"]]
    assert len(theirs_entries) == 6 and not any("Mine" in summary for summary in theirs_entries)
    entries = _both_paths(owner, mine, firsts=(1, 2, 5))
    assert [e["node"]["summary"] for e in entries] == ["CALL: Mine 2", "CALL: Mine 1", "CALL: Mine 0"]


def test_stage_changes_beyond_the_page_are_named_as_the_resolver_path_names_them(
    owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    """The stage changes' summaries name their stages after the source's page is cut (the stages
    are subqueries of the summary, not joins): every page is the resolver path's, a deal's first
    stage without `→`, each move with both stages, another tenant's moves of the same stages' names
    never among them."""
    customer = create_customer(owner, "Moving Deals Ltd")
    theirs = create_customer(other_owner, "Their Deals Ltd")
    stage = stages(owner)
    first_stage = min(stage.values(), key=lambda s: s["position"])["name"]
    for n in range(3):
        opportunity = create_opportunity(owner, customer, name=f"Deal {n}")["id"]
        assert move(owner, opportunity, stage["Proposal"]["id"])["userErrors"] == []
        their_opportunity = create_opportunity(other_owner, theirs, name=f"Their deal {n}")["id"]
        assert move(other_owner, their_opportunity, stages(other_owner)["Won"]["id"])["userErrors"] == []
    compiler.COMPILED.entries.clear()
    entries = _both_paths(owner, customer, firsts=(1, 2, 5))
    summaries = sorted(e["node"]["summary"] for e in entries if e["node"]["kind"] == "STAGE_CHANGE")
    assert summaries == sorted(
        [f"Deal {n}: {first_stage}" for n in range(3)] + [f"Deal {n}: {first_stage} → Proposal" for n in range(3)]
    )
    (sql,) = [e.sql for es in compiler.COMPILED.entries.values() for e in es if "STAGE_CHANGE" in e.sql][:1]
    assert "JOIN pipeline_stages" not in sql and sql.count("FROM pipeline_stages") == 2
    their_summaries = [e["node"]["summary"] for page in _pages(other_owner, theirs, 2) for e in page["edges"]]
    assert len(their_summaries) == 6 and not any(s.startswith("Deal ") for s in their_summaries)
