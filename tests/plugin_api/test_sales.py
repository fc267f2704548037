"""saas.plugin_api.sales: what plugins do in the sales domains, as a member would, in the caller's
transaction, never reaching another tenant."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from saas.auth.principal import Principal
from saas.errors import InputInvalid, NotFoundError
from saas.plugin_api import add_timeline_entry, create_follow_up_task, create_pool_lead
from saas.runtime import Runtime
from saas.schema.relay import decode_id, to_global_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.followups.helpers import TIMELINE, count, create_customer, events, member_id, rows

LEADS = "{ leads(first: 50) { edges { node { id name company status owner { id } } } } }"


def _job(tenant_id: uuid.UUID) -> Principal:
    return Principal(tenant_id=tenant_id, label="job:test", permissions=frozenset())


def _entries(client: GraphQLClient, customer: str) -> list[dict[str, Any]]:
    timeline = client.data(TIMELINE, {"id": customer, "first": 20})["customer"]["timeline"]
    return [edge["node"] for edge in timeline["edges"]]


def test_a_timeline_entry_shows_on_the_customer_timeline(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime, principal_of: Any
) -> None:
    customer = create_customer(owner, "Insured Co", ownerId=None)
    subject = to_global_id("InsPolicy", uuid.uuid4())
    earlier = datetime(2026, 1, 2, 9, 0, tzinfo=UTC)
    with tenant_session(runtime.engine, tenant.id) as session:
        principal = principal_of(owner)
        add_timeline_entry(
            session,
            principal,
            customer_id=decode_id(customer, "Customer"),
            kind="INS_POLICY_ISSUED",
            summary="POL-000001 issued",
            subject_id=subject,
            occurred_at=earlier,
        )
        add_timeline_entry(
            session,
            _job(tenant.id),
            customer_id=decode_id(customer, "Customer"),
            kind="INS_NOTE",
            summary="  About the customer  ",
        )
    entries = _entries(owner, customer)
    assert [(e["kind"], e["summary"]) for e in entries] == [
        ("INS_NOTE", "About the customer"),
        ("INS_POLICY_ISSUED", "POL-000001 issued"),
    ]
    assert entries[1]["recordId"] == subject and entries[1]["occurredAt"] == "2026-01-02T09:00:00.000000+00:00"
    assert entries[1]["actor"] == {"id": member_id(owner)}
    assert entries[0]["recordId"] == customer and entries[0]["actor"] is None  # a job; about the customer itself
    assert _entries(rep, customer) == entries  # whoever sees the customer (an unowned one: every rep)


def test_a_timeline_entry_never_reaches_another_tenant(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle, runtime: Runtime
) -> None:
    mine = create_customer(owner, "Mine")
    theirs = create_customer(other_owner, "Theirs")
    with tenant_session(runtime.engine, tenant.id) as session, pytest.raises(NotFoundError):
        add_timeline_entry(
            session, _job(tenant.id), customer_id=decode_id(theirs, "Customer"), kind="INS_X", summary="x"
        )
    with tenant_session(runtime.engine, tenant.id) as session:
        add_timeline_entry(
            session, _job(tenant.id), customer_id=decode_id(mine, "Customer"), kind="INS_X", summary="mine"
        )
    assert _entries(other_owner, theirs) == []
    assert other_owner.error_codes(TIMELINE, {"id": mine, "first": 5}) == ["NOT_FOUND"]
    assert count(runtime, other_tenant.id, "timeline_entries") == 0
    assert count(runtime, tenant.id, "timeline_entries") == 1


@pytest.mark.parametrize(
    ("kind", "summary", "subject"),
    [
        ("lower", "s", None),
        ("", "s", None),
        ("A" * 41, "s", None),
        ("INS_X", "", None),
        ("INS_X", "s" * 501, None),
        ("INS_X", "s", "not an id"),
    ],
)
def test_a_malformed_timeline_entry_is_a_programming_error(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, kind: str, summary: str, subject: str | None
) -> None:
    customer = create_customer(owner)
    with tenant_session(runtime.engine, tenant.id) as session, pytest.raises(ValueError):
        add_timeline_entry(
            session,
            _job(tenant.id),
            customer_id=decode_id(customer, "Customer"),
            kind=kind,
            summary=summary,
            subject_id=subject,
        )


def test_a_follow_up_task_goes_to_the_customer_owner(
    owner: GraphQLClient, rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner, "Renewing Co", ownerId=member_id(rep))
    due = datetime.now(UTC) + timedelta(days=3)
    with tenant_session(runtime.engine, tenant.id) as session:
        task_id = create_follow_up_task(
            session,
            _job(tenant.id),
            customer_id=decode_id(customer, "Customer"),
            title="Call about renewal",
            due_at=due,
        )
    [task] = rows(runtime, tenant.id, "SELECT id, assignee_id, customer_id, title FROM tasks")
    assert (task.id, str(task.assignee_id), task.title) == (
        task_id,
        str(decode_id(member_id(rep), "Member")),
        "Call about renewal",
    )
    assert [e["task"]["title"] for e in events(runtime, tenant.id, "task.created")] == ["Call about renewal"]
    assert [e["kind"] for e in _entries(owner, customer)] == ["TASK_CREATED"]


def test_a_follow_up_task_needs_an_assignee_and_a_good_title(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    unowned = create_customer(owner, "Pool Co", ownerId=None)
    due = datetime.now(UTC) + timedelta(days=1)
    with tenant_session(runtime.engine, tenant.id) as session:
        with pytest.raises(InputInvalid):
            create_follow_up_task(
                session, _job(tenant.id), customer_id=decode_id(unowned, "Customer"), title="x", due_at=due
            )
        with pytest.raises(InputInvalid):
            create_follow_up_task(
                session,
                _job(tenant.id),
                customer_id=decode_id(unowned, "Customer"),
                title="",
                due_at=due,
                assignee_id=decode_id(member_id(owner), "Member"),
            )
    assert count(runtime, tenant.id, "tasks") == 0


def test_a_follow_up_task_for_another_tenants_customer_is_not_found(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle, runtime: Runtime
) -> None:
    theirs = create_customer(other_owner, "Theirs", ownerId=member_id(other_owner))
    with tenant_session(runtime.engine, tenant.id) as session, pytest.raises(NotFoundError):
        create_follow_up_task(
            session, _job(tenant.id), customer_id=decode_id(theirs, "Customer"), title="x", due_at=datetime.now(UTC)
        )
    assert count(runtime, other_tenant.id, "tasks") == 0


def test_a_pool_lead_has_no_owner_and_its_note(
    owner: GraphQLClient, tenant: TenantHandle, other_owner: GraphQLClient, runtime: Runtime
) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        lead_id = create_pool_lead(
            session,
            _job(tenant.id),
            name="Pat Insured",
            company="Insured Co",
            email="pat@insured.example.com",
            note="Holds AUTO; offer HOME",
        )
        again = create_pool_lead(
            session, _job(tenant.id), name="Pat Insured", company="Insured Co", email="pat@insured.example.com"
        )
    leads = owner.data(LEADS)["leads"]["edges"]
    assert {e["node"]["id"] for e in leads} == {
        to_global_id("Lead", lead_id),
        to_global_id("Lead", again),
    }  # duplicates allowed
    assert {(e["node"]["status"], e["node"]["owner"]) for e in leads} == {("POOL", None)}
    [note] = rows(runtime, tenant.id, "SELECT summary, kind FROM activities WHERE subject_id = :id", id=lead_id)
    assert (note.summary, note.kind) == ("Holds AUTO; offer HOME", "note")
    assert other_owner.data(LEADS)["leads"]["edges"] == []
    with tenant_session(runtime.engine, tenant.id) as session, pytest.raises(InputInvalid):
        create_pool_lead(session, _job(tenant.id), name="")
