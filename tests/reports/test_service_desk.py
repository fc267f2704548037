"""serviceReport's figures against values worked out by hand from the dataset below (its docstring
lists every ticket, article use and work order with the times set by hand), per role, per owner,
per tenant and per date edge; bad filters; one statement whatever the rows."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import text

from saas.runtime import Runtime
from saas.schema.relay import to_global_id
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.knowledge.support import create_article
from tests.reports.support import raw
from tests.tickets.support import (
    CREATE_ACCESS,
    SET_SKILLS,
    create_contact,
    create_customer,
    create_ticket,
    member_id,
    ok,
)

REPORT = """query($filter: ReportFilterInput) {
  serviceReport(filter: $filter) {
    byType { type count }
    byStatus { status count }
    meanFirstResponseMinutes meanResolutionMinutes slaBreachRate
    topArticles { article { id title } uses }
    workload { member { id } openTickets workOrderHours }
  }
}"""
RECORD_USE = """mutation($input: RecordArticleUseInput!) {
  recordArticleUse(input: $input) { counted userErrors { field code message } }
}"""
CREATE_WORK_ORDER = """mutation($input: CreateWorkOrderInput!) {
  createWorkOrder(input: $input) { workOrder { id } userErrors { field code message } }
}"""
COMPLETE_WORK_ORDER = """mutation($input: CompleteWorkOrderInput!) {
  completeWorkOrder(input: $input) { workOrder { id status } userErrors { field code message } }
}"""
MARCH = {"from": "2025-03-01", "to": "2025-03-31"}
STATUSES = ("NEW", "ASSIGNED", "IN_PROGRESS", "WAITING", "RESOLVED", "CLOSED")
TYPES = ("complaint", "exchange", "inquiry", "onsite", "repair", "return")


def at(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)


@dataclass
class Dataset:
    owner: GraphQLClient
    rep: GraphQLClient
    agent1: GraphQLClient
    agent2: GraphQLClient
    rep_id: str
    agent1_id: str
    agent2_id: str
    article_a: str
    article_b: str
    article_c: str
    customer_owned: str


def _set_ticket(runtime: Runtime, tenant: TenantHandle, ticket_id: str, **columns: Any) -> None:
    values = {key: at(value) if key.endswith("_at") else value for key, value in columns.items()}
    values.setdefault("first_responded_at", None)
    values.setdefault("resolved_at", None)
    values.setdefault("breached_at", None)
    sla = values.pop("sla")
    values["first_response_due_at"] = values["created_at"] if sla else None
    values["resolution_due_at"] = values["created_at"] if sla else None
    assignments = ", ".join(f"{key} = :{key}" for key in values)
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(text(f"UPDATE tickets SET {assignments} WHERE id = :id"), {**values, "id": raw(ticket_id)})
        session.commit()


def _use(runtime: Runtime, tenant: TenantHandle, client: GraphQLClient, article: str, ticket: str, day: str) -> None:
    payload = client.data(RECORD_USE, {"input": {"articleId": article, "ticketId": ticket}})["recordArticleUse"]
    assert payload["userErrors"] == [] and payload["counted"], payload
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(
            text("UPDATE article_uses SET created_at = :at WHERE article_id = :article AND ticket_id = :ticket"),
            {"at": at(day), "article": raw(article), "ticket": raw(ticket)},
        )
        session.commit()


def _work_order(
    owner: GraphQLClient, customer: str, technician: str, starts: str, ends: str, hours: str | None
) -> None:
    made = owner.data(
        CREATE_WORK_ORDER,
        {
            "input": {
                "customerId": customer,
                "kind": "REPAIR",
                "technicianId": technician,
                "startsAt": f"{starts}Z",
                "endsAt": f"{ends}Z",
            }
        },
    )["createWorkOrder"]
    assert made["userErrors"] == [], made
    if hours is not None:
        done = owner.data(COMPLETE_WORK_ORDER, {"input": {"id": made["workOrder"]["id"], "hoursWorked": hours}})
        assert done["completeWorkOrder"]["userErrors"] == [], done


def build(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> Dataset:
    """Customers: cO (the owner's; the rep does not see it), cR (the rep's). agent1 and agent2 are
    service agents with skills (given after the tickets are made, so that nothing is dispatched).

    ticket customer type    status       assignee created (UTC)         first response      resolved            SLA breached
    t1     cO       inquiry NEW          -        2025-03-01 10:00      -                   -                   yes -
    t2     cO       inquiry IN_PROGRESS  agent1   2025-03-01 12:00      +30 min             -                   yes yes
    t3     cR       repair  RESOLVED     agent1   2025-03-02 08:00      +60 min             +240 min            yes -
    t4     cR       return  CLOSED       agent2   2025-03-03 00:00      +15 min             +1440 min           no  -
    t5     cO       repair  WAITING      rep      2025-03-31 23:59:59   +10.5 min           -                   yes yes
    t6     cO       inquiry ASSIGNED     agent1   2025-04-01 00:00      -                   -                   yes yes

    Article uses (recorded on): A on t2 (03-05), t3 (03-06), t5 (04-01); B on t4 (03-07); C on t6 (04-02).
    A, B, C were created in that order. Work orders (visit start, hours): agent1 on cR 2025-03-15 3.00;
    agent2 on cO 2025-03-10 2.50 and 2025-04-02 1.25; agent1 on cO 2025-03-20 scheduled (no hours).
    """
    rep = add_member(owner, tenant, "sales")
    agent1 = add_member(owner, tenant, "service")
    agent2 = add_member(owner, tenant, "service")
    rep_id, agent1_id, agent2_id = member_id(rep), member_id(agent1), member_id(agent2)
    c_owned = create_customer(owner, "Owner's customer", ownerId=member_id(owner))
    c_rep = create_customer(rep, "Rep's customer")

    rows = (
        (c_owned, "inquiry", "new", None, "2025-03-01T10:00:00", None, None, True, None),
        (c_owned, "inquiry", "in_progress", agent1_id, "2025-03-01T12:00:00", "2025-03-01T12:30:00", None, True, "2025-03-01T20:00:00"),
        (c_rep, "repair", "resolved", agent1_id, "2025-03-02T08:00:00", "2025-03-02T09:00:00", "2025-03-02T12:00:00", True, None),
        (c_rep, "return", "closed", agent2_id, "2025-03-03T00:00:00", "2025-03-03T00:15:00", "2025-03-04T00:00:00", False, None),
        (c_owned, "repair", "waiting", rep_id, "2025-03-31T23:59:59", "2025-04-01T00:10:29", None, True, "2025-04-02T00:00:00"),
        (c_owned, "inquiry", "assigned", agent1_id, "2025-04-01T00:00:00", None, None, True, "2025-04-02T00:00:00"),
    )  # fmt: skip
    tickets = []
    for customer, type_, status, assignee, created, responded, resolved, sla, breached in rows:
        ticket = create_ticket(owner, customer)["id"]
        _set_ticket(
            runtime,
            tenant,
            ticket,
            type=type_,
            status=status,
            assignee_id=None if assignee is None else raw(assignee),
            created_at=created,
            first_responded_at=responded,
            resolved_at=resolved,
            breached_at=breached,
            sla=sla,
        )
        tickets.append(ticket)
    _t1, t2, t3, t4, t5, t6 = tickets
    for agent in (agent1_id, agent2_id):
        ok(owner, SET_SKILLS, {"memberId": agent, "skills": ["inquiry", "repair", "return"]}, "setAgentSkills")

    article_a = create_article(owner, "Pump noise")
    article_b = create_article(owner, "Refund timing")
    article_c = create_article(owner, "Login trouble", publish=False)
    _use(runtime, tenant, owner, article_a, t2, "2025-03-05T10:00:00")
    _use(runtime, tenant, owner, article_a, t3, "2025-03-06T10:00:00")
    _use(runtime, tenant, owner, article_a, t5, "2025-04-01T10:00:00")
    _use(runtime, tenant, owner, article_b, t4, "2025-03-07T10:00:00")
    _use(runtime, tenant, owner, article_c, t6, "2025-04-02T10:00:00")

    _work_order(owner, c_rep, agent1_id, "2025-03-15T09:00:00", "2025-03-15T12:00:00", "3.00")
    _work_order(owner, c_owned, agent2_id, "2025-03-10T09:00:00", "2025-03-10T12:00:00", "2.50")
    _work_order(owner, c_owned, agent2_id, "2025-04-02T09:00:00", "2025-04-02T11:00:00", "1.25")
    _work_order(owner, c_owned, agent1_id, "2025-03-20T09:00:00", "2025-03-20T12:00:00", None)
    return Dataset(owner, rep, agent1, agent2, rep_id, agent1_id, agent2_id, article_a, article_b, article_c, c_owned)


@pytest.fixture
def data(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> Dataset:
    return build(runtime, tenant, owner)


def report(client: GraphQLClient, **filter: Any) -> dict[str, Any]:
    found = client.data(REPORT, {"filter": filter or None})["serviceReport"]
    return {
        **found,
        "byType": {row["type"]: row["count"] for row in found["byType"]},
        "byStatus": {row["status"]: row["count"] for row in found["byStatus"]},
        "topArticles": [(row["article"]["id"], row["uses"]) for row in found["topArticles"]],
        "workload": [(row["member"]["id"], row["openTickets"], row["workOrderHours"]) for row in found["workload"]],
    }


def types(**counts: int) -> dict[str, int]:
    return {key: counts.get(key, 0) for key in TYPES}


def statuses(**counts: int) -> dict[str, int]:
    return {key: counts.get(key, 0) for key in STATUSES}


def test_every_figure_for_the_owner(data: Dataset) -> None:
    assert report(data.owner) == {
        "byType": types(inquiry=3, repair=2, **{"return": 1}),
        "byStatus": statuses(NEW=1, ASSIGNED=1, IN_PROGRESS=1, WAITING=1, RESOLVED=1, CLOSED=1),
        # t2 30, t3 60, t4 15, t5 10.5: 115.5 / 4 = 28.875, rounded half up
        "meanFirstResponseMinutes": "28.88",
        # t3 240, t4 1440: 1680 / 2
        "meanResolutionMinutes": "840.00",
        # SLA on t1 t2 t3 t5 t6, breached t2 t5 t6: 3 / 5
        "slaBreachRate": "0.6000",
        # A on t2 t3 t5; B (created before C) and C once each
        "topArticles": [(data.article_a, 3), (data.article_b, 1), (data.article_c, 1)],
        # open now: agent1 t2 t6, rep t5, agent2 none; hours: agent1 3.00, agent2 2.50 + 1.25
        "workload": [(data.agent1_id, 2, "3.00"), (data.rep_id, 1, "0.00"), (data.agent2_id, 0, "3.75")],
    }


def test_the_period_counts_tickets_created_uses_recorded_and_visits_started_in_it(data: Dataset) -> None:
    assert report(data.owner, **MARCH) == {
        # t1..t5 (t5 at 23:59:59 on the last day is in, t6 at midnight after is out)
        "byType": types(inquiry=2, repair=2, **{"return": 1}),
        "byStatus": statuses(NEW=1, IN_PROGRESS=1, WAITING=1, RESOLVED=1, CLOSED=1),
        "meanFirstResponseMinutes": "28.88",
        "meanResolutionMinutes": "840.00",
        # SLA on t1 t2 t3 t5, breached t2 t5
        "slaBreachRate": "0.5000",
        # A's use on t5 and C's on t6 were in April
        "topArticles": [(data.article_a, 2), (data.article_b, 1)],
        # open tickets are the load now, whatever the period; agent2's April visit is out
        "workload": [(data.agent1_id, 2, "3.00"), (data.rep_id, 1, "0.00"), (data.agent2_id, 0, "2.50")],
    }
    april = report(data.owner, **{"from": "2025-04-01"})
    assert april["byType"] == types(inquiry=1)  # t6
    assert (april["meanFirstResponseMinutes"], april["meanResolutionMinutes"], april["slaBreachRate"]) == (
        None,
        None,
        "1.0000",
    )
    assert april["topArticles"] == [(data.article_a, 1), (data.article_c, 1)]


def test_the_owner_filter_is_the_assignee(data: Dataset) -> None:
    assert report(data.owner, ownerId=data.agent1_id) == {
        "byType": types(inquiry=2, repair=1),  # t2, t3, t6
        "byStatus": statuses(IN_PROGRESS=1, RESOLVED=1, ASSIGNED=1),
        # t2 30, t3 60
        "meanFirstResponseMinutes": "45.00",
        "meanResolutionMinutes": "240.00",
        # SLA on all three, breached t2 t6: 2 / 3
        "slaBreachRate": "0.6667",
        "topArticles": [(data.article_a, 2), (data.article_c, 1)],
        "workload": [(data.agent1_id, 2, "3.00")],
    }


def test_the_team_filter_counts_its_members_and_managers_tickets(data: Dataset) -> None:
    """A team managed by agent1 with the rep: the tickets assigned to either (t2 t3 t6, t5)."""
    created = data.owner.data(
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } userErrors { code } } }",
        {"input": {"name": "Desk", "managerId": data.agent1_id, "memberIds": [data.rep_id]}},
    )["createTeam"]
    assert created["userErrors"] == []
    found = report(data.owner, teamId=created["team"]["id"])
    assert found["byType"] == types(inquiry=2, repair=2)
    assert found["byStatus"] == statuses(IN_PROGRESS=1, RESOLVED=1, ASSIGNED=1, WAITING=1)
    # t2 30, t3 60, t5 10.5: 100.5 / 3; SLA on all four, breached t2 t5 t6
    assert (found["meanFirstResponseMinutes"], found["slaBreachRate"]) == ("33.50", "0.7500")
    assert found["workload"] == [(data.agent1_id, 2, "3.00"), (data.rep_id, 1, "0.00")]


def test_a_sales_rep_counts_only_the_tickets_they_see(data: Dataset) -> None:
    """The rep sees the tickets of their customer (t3, t4) and those assigned to them (t5), and the
    work orders of the customers they see (agent1's on cR)."""
    assert report(data.rep) == {
        "byType": types(repair=2, **{"return": 1}),
        "byStatus": statuses(WAITING=1, RESOLVED=1, CLOSED=1),
        # t3 60, t4 15, t5 10.5: 85.5 / 3
        "meanFirstResponseMinutes": "28.50",
        "meanResolutionMinutes": "840.00",
        # SLA on t3 t5, breached t5
        "slaBreachRate": "0.5000",
        "topArticles": [(data.article_a, 2), (data.article_b, 1)],
        "workload": [(data.rep_id, 1, "0.00"), (data.agent1_id, 0, "3.00"), (data.agent2_id, 0, "0.00")],
    }


def test_a_service_agent_counts_their_tickets_and_the_queue(data: Dataset) -> None:
    """agent2 sees the unassigned t1 and their own t4."""
    found = report(data.agent2)
    assert found["byType"] == types(inquiry=1, **{"return": 1})
    assert found["byStatus"] == statuses(NEW=1, CLOSED=1)
    assert (found["meanFirstResponseMinutes"], found["meanResolutionMinutes"], found["slaBreachRate"]) == (
        "15.00",
        "1440.00",
        "0.0000",
    )
    assert found["topArticles"] == [(data.article_b, 1)]


def test_another_tenant_never_counts_this_ones_tickets(
    data: Dataset, runtime: Runtime, other_tenant: TenantHandle, other_owner: GraphQLClient
) -> None:
    empty = report(other_owner)
    assert empty["byStatus"] == statuses() and empty["topArticles"] == [] and empty["workload"] == []
    assert (empty["meanFirstResponseMinutes"], empty["meanResolutionMinutes"], empty["slaBreachRate"]) == (
        None,
        None,
        None,
    )
    create_ticket(other_owner, create_customer(other_owner, "Theirs"))
    theirs = report(other_owner)
    assert theirs["byType"] == types(inquiry=1) and theirs["byStatus"] == statuses(NEW=1)
    # this tenant's member, as the other tenant's filter: unknown there
    assert other_owner.error_codes(REPORT, {"filter": {"ownerId": data.agent1_id}}) == ["NOT_FOUND"]
    assert report(data.owner)["byType"] == types(inquiry=3, repair=2, **{"return": 1})


def test_bad_filters_are_coded_errors_and_portal_tokens_are_refused(
    owner: GraphQLClient, anonymous: GraphQLClient
) -> None:
    def codes(filter: Any) -> list[str]:
        return owner.error_codes(REPORT, {"filter": filter})

    assert codes({"from": "2025-03-02", "to": "2025-03-01"}) == ["BAD_USER_INPUT"]
    assert codes({"from": "2025-02-30"}) == ["BAD_USER_INPUT"]
    assert codes({"from": 20250301}) == ["BAD_USER_INPUT"]
    assert codes({"ownerId": "not an id"}) == ["NOT_FOUND"]
    assert codes({"ownerId": to_global_id("Customer", uuid.uuid4())}) == ["NOT_FOUND"]
    assert codes({"ownerId": to_global_id("Member", uuid.uuid4())}) == ["NOT_FOUND"]
    assert codes({"teamId": to_global_id("Team", uuid.uuid4())}) == ["NOT_FOUND"]
    assert codes({"currency": "EURO"}) == ["BAD_USER_INPUT"]
    assert codes({"currency": "EUR"}) == []  # no money is counted: it narrows nothing
    assert anonymous.error_codes(REPORT) == ["UNAUTHENTICATED"]
    customer = create_customer(owner)
    access = ok(owner, CREATE_ACCESS, {"contactId": create_contact(owner, customer)}, "createPortalAccess")
    assert owner.as_token(access["token"]).error_codes(REPORT) == ["FORBIDDEN"]


def test_one_statement_whatever_the_rows(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> None:
    owner.data(REPORT)
    empty = owner.last_statements
    build(runtime, tenant, owner)
    owner.data(REPORT)
    # the report's one statement, the read transaction's tenant setting in front of it (one
    # message); the workload's members (none when empty) are one batch more
    assert (empty, owner.last_statements) == (1, 2)
