"""The leads' and tickets' `search` filters (`saas.leads.rules.lead_conditions`,
`saas.tickets.rules.ticket_conditions`): the stored lower-case copies compared with `LIKE` find the
rows `ILIKE` on the columns found, in the same order; every term literal, any case, one tenant's.

The expected rows are those of the former conditions (`ILIKE` on the columns), run as the
application role."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import text

from saas.auth.permissions import ALL_PERMISSIONS
from saas.auth.principal import Principal
from saas.customers.rules import contains_pattern
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from saas.tickets.rules import TicketFilter, ticket_conditions
from tests.conftest import GraphQLClient, TenantHandle
from tests.leads.support import LEADS, create_lead
from tests.tickets.support import TICKETS, create_customer, create_ticket

FORMER_TICKETS = """SELECT id FROM tickets WHERE subject ILIKE :p OR body ILIKE :p
  OR ('T-' || lpad(number::text, 6, '0')) ILIKE :p ORDER BY created_at DESC, id DESC"""
FORMER_LEADS = """SELECT id FROM leads WHERE name ILIKE :p OR company ILIKE :p OR email ILIKE :p
  ORDER BY created_at DESC, id DESC"""

TERMS = [
    "jammed", "JAMMED", "ångström", "ÅNGSTRÖM", "Ärger", "发票", "invoice copy",
    "T-000001", "t-000002", "000003", "\uff34-000001", "T-", "t", "-", "1", "T-0000012", "T-1",
    "%", "100%", "_", "a_b", "\\", "back\\slash", "'", "x" * 500, "zqxj",
]  # fmt: skip
OWNER = Principal(tenant_id=uuid.uuid4(), label="test", permissions=ALL_PERMISSIONS)


@pytest.fixture
def tickets(owner: GraphQLClient, other_owner: GraphQLClient) -> list[str]:
    customer = create_customer(owner)
    made = [
        create_ticket(owner, customer, subject="Printer jammed", body="Paper stuck"),  # T-000001
        create_ticket(owner, customer, subject="Invoice copy", body="Please send 发票"),
        create_ticket(owner, customer, subject="Ångström meter", body="Reads 100% too high"),
        create_ticket(owner, customer, subject="Fault a_b", body="back\\slash in the log, ÄRGER"),
        create_ticket(owner, customer, subject="aXb fault", body="It's 100 percent wrong; t 1"),
    ]
    theirs = create_customer(other_owner)
    for subject in ("Printer jammed too", "Ångström 100% a_b back\\slash", "zqxj"):
        create_ticket(other_owner, theirs, subject=subject, body="T-000001 发票")
    return [ticket["id"] for ticket in made]


def _ticket_ids(client: GraphQLClient, search: str) -> list[str]:
    data = client.data(TICKETS, {"first": 100, "filter": {"search": search}})["tickets"]
    return [edge["node"]["id"] for edge in data["edges"]]


def _former(runtime: Runtime, tenant: TenantHandle, sql: str, term: str) -> list[str]:
    with tenant_session(runtime.engine, tenant.id) as session:
        rows = session.execute(text(sql), {"p": contains_pattern(term.strip())}).scalars()
        return [str(row) for row in rows]


@pytest.mark.parametrize("term", TERMS)
def test_a_ticket_search_finds_what_ilike_found(
    tickets: list[str], owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, term: str
) -> None:
    found = [str(decode_id(ticket, "Ticket")) for ticket in _ticket_ids(owner, term)]
    assert found == _former(runtime, tenant, FORMER_TICKETS, term)


def test_ticket_searches_by_text_number_and_case(tickets: list[str], owner: GraphQLClient) -> None:
    jammed, invoice, meter, fault, other = tickets
    assert _ticket_ids(owner, "JAMMED") == [jammed]
    assert _ticket_ids(owner, "ÅNGSTRÖM") == [meter]
    assert _ticket_ids(owner, "ärger") == [fault]
    assert _ticket_ids(owner, "t-000001") == [jammed]
    assert _ticket_ids(owner, "000003") == [meter]
    assert _ticket_ids(owner, "T-") == [other, fault, meter, invoice, jammed]  # every number
    assert _ticket_ids(owner, "t 1") == [other]  # not a number's: the body's
    assert _ticket_ids(owner, "100%") == [meter]  # not "100 percent"
    assert _ticket_ids(owner, "a_b") == [fault]  # not "aXb"
    assert _ticket_ids(owner, "\\") == [fault]
    assert _ticket_ids(owner, "zqxj") == []
    assert _ticket_ids(owner, "x" * 500) == []
    assert _ticket_ids(owner, "T-0000012") == []
    assert _ticket_ids(owner, "") == _ticket_ids(owner, "   ") == [other, fault, meter, invoice, jammed]


def test_a_ticket_search_finds_nothing_of_another_tenant(
    tickets: list[str], owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    assert _ticket_ids(other_owner, "Invoice copy") == []
    assert _ticket_ids(other_owner, "stuck") == []
    assert _ticket_ids(other_owner, "T-000005") == []  # the first tenant's fifth ticket
    theirs = set(_ticket_ids(other_owner, "T-"))
    assert len(theirs) == 3 and not theirs & set(tickets)
    assert _ticket_ids(owner, "zqxj") == _ticket_ids(owner, "jammed too") == []


def test_only_a_term_a_number_could_contain_reads_the_numbers() -> None:
    def sql(term: str) -> str:
        return ticket_conditions(OWNER, "r", TicketFilter(search=term)).sql

    for term in ("T-000123", "t-12", "123", "-", " T "):
        assert "lpad(r.number::text" in sql(term), term
    for term in ("Printer", "T-12x", "T_1", "T%1", "\uff34-1", "\uff11"):  # fullwidth T and 1: not a number's
        assert "lpad(" not in sql(term), term


LEAD_TERMS = ["acme", "ACME", "ÅNGSTRÖM", "example.COM", "100%", "_", "a_b", "\\", "x" * 500, "zqxj", "Jane"]


@pytest.fixture
def leads(owner: GraphQLClient, other_owner: GraphQLClient) -> list[str]:
    made = [
        create_lead(owner, name="Jane Lead", company="Acme", email="Jane@Example.com"),
        create_lead(owner, name="Ångström Lab", company="100% Sure", allowDuplicate=True),
        create_lead(owner, name="Fred", company="a_b Ltd", email="fred@back.example", allowDuplicate=True),
        create_lead(owner, name="back\\slash", company="aXb Ltd", allowDuplicate=True),
    ]
    create_lead(other_owner, name="Jane Other", company="Acme a_b 100%", email="x@example.com")
    return [lead["id"] for lead in made]


def _lead_ids(client: GraphQLClient, search: str) -> list[str]:
    data = client.data(LEADS, {"first": 100, "filter": {"search": search}})["leads"]
    return [edge["node"]["id"] for edge in data["edges"]]


@pytest.mark.parametrize("term", LEAD_TERMS)
def test_a_lead_search_finds_what_ilike_found(
    leads: list[str], owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, term: str
) -> None:
    found = [str(decode_id(lead, "Lead")) for lead in _lead_ids(owner, term)]
    assert found == _former(runtime, tenant, FORMER_LEADS, term)


def test_lead_searches(leads: list[str], owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    jane, lab, fred, slash = leads
    assert _lead_ids(owner, "ACME") == [jane]
    assert _lead_ids(owner, "ångström") == [lab]
    assert _lead_ids(owner, "EXAMPLE.com") == [jane]
    assert _lead_ids(owner, "100%") == [lab]
    assert _lead_ids(owner, "a_b") == [fred]  # not "aXb"
    assert _lead_ids(owner, "\\") == [slash]
    assert _lead_ids(owner, "zqxj") == _lead_ids(owner, "x" * 500) == []
    assert _lead_ids(owner, "") == [slash, fred, lab, jane]
    other = _lead_ids(other_owner, "acme")
    assert len(other) == 1 and other[0] not in leads
    assert _lead_ids(other_owner, "Ångström") == _lead_ids(other_owner, "fred") == []


def test_the_searches_read_the_stored_lower_case_copies() -> None:
    from saas.customers.rules import CustomerFilter, customer_conditions
    from saas.leads.rules import LeadFilter, lead_conditions

    tickets = ticket_conditions(OWNER, "r", TicketFilter(search=" Ärger ")).sql
    leads = lead_conditions(OWNER, "r", LeadFilter(search="Ärger")).sql
    customers = customer_conditions(OWNER, "r", CustomerFilter(search="Ärger")).sql
    assert "ILIKE" not in tickets + leads + customers
    assert tickets == "(r.subject_key LIKE (SELECT lower(:search)) OR r.body_key LIKE (SELECT lower(:search)))"
    assert "(r.name_key LIKE (SELECT lower(:search)) OR r.company_key LIKE" in leads
    assert "r.name_key LIKE lower(:search)" in customers  # planned for its value: folded
