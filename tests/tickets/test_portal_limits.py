"""What a portal token reads, across every domain: its own customer's tickets (no internal field),
their public comments, the published articles of the knowledge base, the catalog; nothing else.

Every root field of `Query` is asked (the list comes from the schema file, so a root added later is
asked too, and must be placed below); each one the portal may not read answers FORBIDDEN or
NOT_FOUND, or nothing at all. Every `Mutation` field is tried too: all but its own tickets and
comments refuse it and write nothing. A revoked access, a deleted contact or customer: refused
everywhere, the live `ticketEvents` included."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLObjectType,
    GraphQLUnionType,
    Undefined,
    build_schema,
    get_named_type,
    is_non_null_type,
)

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.knowledge.support import service_counts
from tests.tickets.support import (
    ASSIGN,
    COMMENT,
    CREATE_ACCESS,
    CREATE_RULE,
    REVOKE_ACCESS,
    create_contact,
    create_customer,
    create_ticket,
    member_id,
    ok,
)

SCHEMA = build_schema((Path(__file__).parents[2] / "schema.graphql").read_text())
QUERY = SCHEMA.query_type
assert QUERY is not None

# The roots a portal token reads, each limited by its domain's rule (tested below).
PORTAL_READS = {
    "tickets": "its customer's tickets",
    "ticket": "one of its customer's tickets",
    "ticketTypes": "the kinds of ticket it may file",
    "articles": "published articles",
    "article": "a published article",
    "searchKnowledgeBase": "published articles",
    "products": "the catalog",
    "product": "the catalog",
    "me": "its own credential: its permissions, no member (test_me_is_the_portal_credential)",
    "node": "any type, each under its own rule (test_node_of_anything_else_is_refused)",
}
REFUSED = sorted(name for name in QUERY.fields if name not in PORTAL_READS)

RESOLVE = (
    """mutation($input: ResolveTicketInput!) { resolveTicket(input: $input) { article { id } userErrors { code } } }"""
)
PUBLISH = """mutation($input: PublishArticleInput!) { publishArticle(input: $input) { article { id } userErrors { code } } }"""
CREATE_LEAD = """mutation($input: CreateLeadInput!) { createLead(input: $input) { lead { id } userErrors { code } } }"""
CREATE_OPPORTUNITY = """mutation($input: CreateOpportunityInput!) {
  createOpportunity(input: $input) { opportunity { id } userErrors { code } } }"""
CREATE_WORK_ORDER = """mutation($input: CreateWorkOrderInput!) {
  createWorkOrder(input: $input) { workOrder { id } userErrors { code } } }"""
CREATE_KEY = """mutation { createApiKey(input: {name: "k", scopes: ["customers:read"]}) { apiKey { id } } }"""


@dataclass
class World:
    """A tenant with two customers; the portal token is the first one's contact's."""

    portal: GraphQLClient
    access: str
    customer: str
    contact: str
    other_customer: str
    other_contact: str
    own_ticket: str
    other_ticket: str
    internal_comment: str
    public_comment: str
    draft_article: str
    published_article: str
    lead: str
    opportunity: str
    work_order: str
    rule: str
    member: str


@pytest.fixture
def world(owner: GraphQLClient, tenant: TenantHandle) -> World:
    customer, other = create_customer(owner, "Portal Co"), create_customer(owner, "Other Co")
    contact, other_contact = create_contact(owner, customer), create_contact(owner, other, "Other Person")
    made = ok(owner, CREATE_ACCESS, {"contactId": contact}, "createPortalAccess")
    rule = ok(
        owner,
        CREATE_RULE,
        {"name": "Printers", "keywords": ["printer"], "setType": "repair"},
        "createClassificationRule",
    )
    own_ticket = create_ticket(owner, customer, subject="Printer jams")["id"]
    other_ticket = create_ticket(owner, other, subject="Printer smokes")["id"]
    agent = add_member(owner, tenant, "service")
    ok(owner, ASSIGN, {"id": own_ticket, "assigneeId": member_id(agent)}, "assignTicket")
    internal = ok(owner, COMMENT, {"id": own_ticket, "body": "Internal: refund it"}, "commentOnTicket")["comment"]["id"]
    public = ok(owner, COMMENT, {"id": own_ticket, "body": "On its way", "public": True}, "commentOnTicket")
    draft = ok(owner, RESOLVE, {"id": other_ticket, "solution": "Unplug it"}, "resolveTicket")["article"]["id"]
    published_ticket = create_ticket(owner, customer, subject="Printer offline")["id"]
    published = ok(owner, RESOLVE, {"id": published_ticket, "solution": "Reconnect"}, "resolveTicket")["article"]["id"]
    ok(owner, PUBLISH, {"id": published}, "publishArticle")
    lead = ok(owner, CREATE_LEAD, {"name": "A Lead", "company": "Lead Co"}, "createLead")["lead"]["id"]
    opportunity = ok(
        owner,
        CREATE_OPPORTUNITY,
        {"customerId": customer, "name": "Printers", "amount": "1200.00", "currency": "EUR"},
        "createOpportunity",
    )["opportunity"]["id"]
    work_order = ok(
        owner,
        CREATE_WORK_ORDER,
        {
            "customerId": customer,
            "ticketId": own_ticket,
            "technicianId": member_id(agent),
            "kind": "REPAIR",
            "startsAt": "2031-03-03T09:00:00+00:00",
            "endsAt": "2031-03-03T11:00:00+00:00",
        },
        "createWorkOrder",
    )["workOrder"]["id"]
    owner.data(CREATE_KEY)
    return World(
        portal=owner.as_token(made["token"]),
        access=made["portalAccess"]["id"],
        customer=customer,
        contact=contact,
        other_customer=other,
        other_contact=other_contact,
        own_ticket=own_ticket,
        other_ticket=other_ticket,
        internal_comment=internal,
        public_comment=public["comment"]["id"],
        draft_article=draft,
        published_article=published,
        lead=lead,
        opportunity=opportunity,
        work_order=work_order,
        rule=rule["classificationRule"]["id"],
        member=member_id(owner),
    )


def _selection(field: GraphQLField) -> str:
    named = get_named_type(field.type)
    if isinstance(named, GraphQLObjectType):
        if "edges" in named.fields:
            return " { edges { node { __typename } } }"
        return " { __typename }"
    if isinstance(named, GraphQLInterfaceType | GraphQLUnionType):
        return " { __typename }"
    return ""


def _root_query(name: str, ids: dict[str, str]) -> str:
    """The root field `name` with its required arguments: the id of a record of that kind."""
    field = QUERY.fields[name]
    arguments = []
    for arg_name, arg in field.args.items():
        defaulted = arg.default_value is not Undefined or (arg.ast_node and arg.ast_node.default_value)
        if not is_non_null_type(arg.type) or defaulted:
            continue
        named = get_named_type(arg.type)
        if isinstance(named, GraphQLEnumType):
            value = next(iter(named.values))
        elif named.name == "ID":
            value = json.dumps(ids[name])
        else:
            value = json.dumps("printer")
        arguments.append(f"{arg_name}: {value}")
    return f"{{ {name}{'(' + ', '.join(arguments) + ')' if arguments else ''}{_selection(field)} }}"


def _nothing(value: Any) -> bool:
    """An empty answer: no rows in a list or a page."""
    if isinstance(value, list):
        return value == []
    if isinstance(value, dict) and "edges" in value:
        return value["edges"] == []
    return False


def _ids(world: World) -> dict[str, str]:
    return {
        "customer": world.customer,  # even its own customer is not read at the root
        "contact": world.contact,
        "opportunity": world.opportunity,
        "lead": world.lead,
        # Jobs and campaigns: an id of the portal's own customer stands for any id it might try.
        "campaign": world.customer,
        "exportJob": world.customer,
        "importJob": world.customer,
        "tenantExport": world.customer,
    }


@pytest.mark.parametrize("name", REFUSED)
def test_a_portal_token_reads_no_other_root(world: World, name: str) -> None:
    result = world.portal.execute(_root_query(name, _ids(world)))
    codes = {e["extensions"]["code"] for e in result.get("errors", [])}
    if codes:
        assert codes <= {"FORBIDDEN", "NOT_FOUND"}, result
    else:
        assert _nothing(result["data"][name]), result


def test_every_root_is_placed() -> None:
    """A root added to the schema is refused to the portal unless listed in PORTAL_READS on purpose."""
    assert set(PORTAL_READS) <= set(QUERY.fields)


def test_me_is_the_portal_credential(world: World) -> None:
    me = world.portal.data("{ me { member { id } email role permissions } }")["me"]
    assert me == {
        "member": None,
        "email": None,
        "role": None,
        "permissions": ["knowledge:read", "products:read", "tickets:read", "tickets:write"],
    }


NODE = "query($id: ID!) { node(id: $id) { __typename id } }"
NOT_THE_PORTALS = (
    "customer",  # its own customer: read through its tickets, by name only
    "contact",
    "other_customer",
    "other_contact",
    "other_ticket",
    "internal_comment",
    "draft_article",
    "lead",
    "opportunity",
    "work_order",
    "rule",
    "member",
    "access",
)


@pytest.mark.parametrize("record", NOT_THE_PORTALS)
def test_node_of_anything_else_is_refused(world: World, record: str) -> None:
    codes = world.portal.error_codes(NODE, {"id": getattr(world, record)})
    assert codes and set(codes) <= {"FORBIDDEN", "NOT_FOUND"}, (record, codes)


def test_node_of_its_own_records_is_read(world: World) -> None:
    for record, typename in (
        ("own_ticket", "Ticket"),
        ("public_comment", "TicketComment"),
        ("published_article", "Article"),
    ):
        assert world.portal.data(NODE, {"id": getattr(world, record)})["node"]["__typename"] == typename


TICKET = """query($id: ID!) { ticket(id: $id) { id assignee { id name } assigneeName classifiedBy { id name }
  customer { id name } contact { id name } comments { totalCount edges { node { body authorName author { id } } } } } }"""
TICKETS = (
    """{ tickets(first: 10) { totalCount edges { node { id assignee { id } assigneeName classifiedBy { id } } } } }"""
)


def test_its_tickets_without_internal_fields_or_comments(world: World, owner: GraphQLClient) -> None:
    # Staff read the internal fields.
    staff = owner.data(TICKET, {"id": world.own_ticket})["ticket"]
    assert staff["assignee"]["id"] and staff["classifiedBy"]["name"] == "Printers"
    assert staff["comments"]["totalCount"] == 2
    writer = owner.data("{ me { member { name email } } }")["me"]["member"]
    assert staff["comments"]["edges"][1]["node"]["authorName"] == writer["email"]  # staff: the member's e-mail
    agent_name = staff["assigneeName"]
    assert agent_name == staff["assignee"]["name"]
    # The portal: the assignee by name only, no classification rule, public comments only; the
    # compiled read (no comments) and the resolvers (comments) alike.
    seen = world.portal.data(TICKET, {"id": world.own_ticket})["ticket"]
    assert (seen["assignee"], seen["assigneeName"], seen["classifiedBy"]) == (None, agent_name, None)
    assert seen["customer"]["id"] == world.customer and seen["contact"] is None
    # A member's comment names them by display name, never by e-mail.
    assert "@" in writer["email"] and writer["name"] != writer["email"]
    assert seen["comments"] == {
        "totalCount": 1,
        "edges": [{"node": {"body": "On its way", "authorName": writer["name"], "author": None}}],
    }
    listed = world.portal.data(TICKETS)["tickets"]
    assert listed["totalCount"] == 2 and world.portal.last_statements == 1
    own = next(e["node"] for e in listed["edges"] if e["node"]["id"] == world.own_ticket)
    assert own == {"id": world.own_ticket, "assignee": None, "assigneeName": agent_name, "classifiedBy": None}
    assert world.portal.error_codes(TICKET, {"id": world.other_ticket}) == ["NOT_FOUND"]
    # A member's e-mail is refused outright.
    email = "query($id: ID!) { ticket(id: $id) { assignee { email } } }"
    assert world.portal.error_codes(email, {"id": world.own_ticket}) == ["FORBIDDEN"]
    # Its customer's tickets through the customer: the same rule.
    through = world.portal.data(
        "query($id: ID!) { ticket(id: $id) { customer { name tickets { totalCount edges { node { classifiedBy { id } } } } } } }",
        {"id": world.own_ticket},
    )["ticket"]["customer"]
    assert through["name"] == "Portal Co" and through["tickets"]["totalCount"] == 2
    assert all(e["node"]["classifiedBy"] is None for e in through["tickets"]["edges"])


CUSTOMER_FIELDS = SCHEMA.get_type("Customer").fields  # type: ignore[union-attr]
HIDDEN_CUSTOMER_FIELDS = sorted(name for name in CUSTOMER_FIELDS if name not in {"id", "name", "tickets"})


@pytest.mark.parametrize("name", HIDDEN_CUSTOMER_FIELDS)
def test_its_customer_is_read_by_name_only(world: World, name: str) -> None:
    """Its own customer's notes, owner, opportunities, orders, timeline, other contacts…: refused
    before anything runs, whichever path would have read them."""
    field = CUSTOMER_FIELDS[name]
    query = f"query($id: ID!) {{ ticket(id: $id) {{ id customer {{ id {name}{_selection(field)} }} }} }}"
    result = world.portal.execute(query, {"id": world.own_ticket})
    assert [e["extensions"]["code"] for e in result["errors"]] == ["FORBIDDEN"], result
    assert "data" not in result


def test_published_articles_only(world: World, owner: GraphQLClient) -> None:
    articles = "query($filter: ArticleFilterInput) { articles(first: 50, filter: $filter) { totalCount edges { node { id status } } } }"
    seen = world.portal.data(articles)["articles"]
    assert [e["node"] for e in seen["edges"]] == [{"id": world.published_article, "status": "PUBLISHED"}]
    assert world.portal.data(articles, {"filter": {"status": "DRAFT"}})["articles"]["totalCount"] == 0
    assert owner.data(articles, {"filter": {"status": "DRAFT"}})["articles"]["totalCount"] == 1
    article = "query($id: ID!) { article(id: $id) { id } }"
    assert world.portal.error_codes(article, {"id": world.draft_article}) == ["NOT_FOUND"]
    assert world.portal.data(article, {"id": world.published_article})["article"]["id"] == world.published_article
    search = "query($q: String!, $drafts: Boolean) { searchKnowledgeBase(query: $q, includeDrafts: $drafts) { article { id } } }"
    assert owner.data(search, {"q": "unplug", "drafts": True})["searchKnowledgeBase"] == [
        {"article": {"id": world.draft_article}}
    ]
    assert world.portal.data(search, {"q": "unplug"})["searchKnowledgeBase"] == []
    assert world.portal.data(search, {"q": "reconnect"})["searchKnowledgeBase"] == [
        {"article": {"id": world.published_article}}
    ]
    assert world.portal.error_codes(search, {"q": "unplug", "drafts": True}) == ["FORBIDDEN"]


ENDINGS = ("revoked", "contact deleted", "customer deleted")


def _end(owner: GraphQLClient, world: World, ending: str) -> None:
    if ending == "revoked":
        ok(owner, REVOKE_ACCESS, {"id": world.access}, "revokePortalAccess")
    elif ending == "contact deleted":
        owner.data("mutation($id: ID!) { deleteContact(input: {id: $id}) { contact { id } } }", {"id": world.contact})
    else:
        owner.data(
            "mutation($id: ID!) { deleteCustomer(input: {id: $id}) { customer { id } } }", {"id": world.customer}
        )


@pytest.mark.parametrize("ending", ENDINGS)
def test_an_ended_access_is_refused_everywhere(world: World, owner: GraphQLClient, ending: str) -> None:
    assert world.portal.data(TICKETS)["tickets"]["totalCount"] == 2
    _end(owner, world, ending)
    ids = {**_ids(world), "ticket": world.own_ticket, "article": world.published_article, "node": world.own_ticket}
    ids["product"] = world.published_article  # refused before the id is looked at
    for name in sorted(QUERY.fields):
        assert world.portal.error_codes(_root_query(name, ids)) == ["UNAUTHENTICATED"], name
    create = "mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } } }"
    assert world.portal.error_codes(create, {"input": {"customerId": world.customer, "subject": "s", "body": "b"}}) == [
        "UNAUTHENTICATED"
    ]
    assert world.portal.error_codes(COMMENT, {"input": {"id": world.own_ticket, "body": "hello"}}) == [
        "UNAUTHENTICATED"
    ]


MUTATION = SCHEMA.mutation_type
assert MUTATION is not None
# The changes a portal token makes: tickets of its own customer and comments on them (tested in
# tests/tickets/test_portal.py). Every other mutation, of every domain, refuses it.
PORTAL_WRITES = {"createTicket", "commentOnTicket"}
# Those that need no credential at all, answered on their own input whoever calls (here: refused).
PUBLIC_WRITES = {"login": "INVALID_CREDENTIALS", "acceptInvitation": "INVALID"}
PORTAL_REFUSED_WRITES = sorted(name for name in MUTATION.fields if name not in PORTAL_WRITES)
# Where a mutation's `id` is not that of the kind its name says, the id the portal might try.
ID_OF_KIND = (
    ("Ticket", "own_ticket"),
    ("Article", "published_article"),
    ("WorkOrder", "work_order"),
    ("Return", "return_request"),
    ("ClassificationRule", "rule"),
    ("PortalAccess", "access"),
    ("Contact", "contact"),
    ("Lead", "lead"),
    ("Opportunity", "opportunity"),
    ("Member", "member"),
)
ID_OF_FIELD = {
    "customerId": "customer",
    "contactId": "contact",
    "ticketId": "own_ticket",
    "articleId": "published_article",
    "orderId": "order",
    "orderLineId": "order_line",
    "memberId": "member",
    "assigneeId": "member",
    "technicianId": "member",
    "ownerId": "member",
    "managerId": "member",
}
SCALARS = {
    "String": '"printer"',
    "Int": "1",
    "Float": "1.0",
    "Boolean": "true",
    "Decimal": '"1.00"',
    "DateTime": '"2031-03-04T09:00:00+00:00"',
    "Date": '"2031-03-04"',
    "JSON": "{}",
}


def _literal(kind: Any, field: str, ids: dict[str, str], mutation: str) -> str:
    """A GraphQL literal of `kind` for `field`: the required input fields only, ids of the portal's
    own records (or of records of the tenant it must not touch) where an id goes."""
    named = get_named_type(kind)
    if not is_non_null_type(kind) and isinstance(kind, GraphQLList):  # pragma: no cover - optional lists are left out
        return "[]"
    inner = kind.of_type if is_non_null_type(kind) else kind
    if isinstance(inner, GraphQLList):
        return f"[{_literal(inner.of_type, field, ids, mutation)}]"
    if isinstance(named, GraphQLInputObjectType):
        parts = [
            f"{name}: {_literal(sub.type, name, ids, mutation)}"
            for name, sub in named.fields.items()
            if is_non_null_type(sub.type) and sub.default_value is Undefined
        ]
        return "{" + ", ".join(parts) + "}"
    if isinstance(named, GraphQLEnumType):
        return next(iter(named.values))
    if named.name == "ID":
        key = ID_OF_FIELD.get(field.rstrip("s") if field.endswith("Ids") else field)
        if key is None:
            key = next((record for kind_name, record in ID_OF_KIND if kind_name in mutation), "customer")
        return json.dumps(ids[key])
    return SCALARS[named.name]


def _mutation(name: str, ids: dict[str, str]) -> str:
    field = MUTATION.fields[name]
    arguments = [
        f"{arg_name}: {_literal(arg.type, arg_name, ids, name)}"
        for arg_name, arg in field.args.items()
        if is_non_null_type(arg.type)
    ]
    payload = get_named_type(field.type)
    errors = " userErrors { code }" if isinstance(payload, GraphQLObjectType) and "userErrors" in payload.fields else ""
    selection = f" {{ __typename{errors} }}" if isinstance(payload, GraphQLObjectType) else _selection(field)
    return f"mutation {{ {name}{'(' + ', '.join(arguments) + ')' if arguments else ''}{selection} }}"


@pytest.fixture
def portal_targets(world: World, owner: GraphQLClient) -> dict[str, str]:
    """The world's ids, with an order of the portal's customer and a return of it."""
    from tests.returns.support import create_order, request_return

    order = create_order(owner, (2,))
    returned = request_return(owner, order["id"], [(order["lines"][0]["id"], 1)])["returnRequest"]["id"]
    return {
        **{name: value for name, value in vars(world).items() if isinstance(value, str)},
        "order": order["id"],
        "order_line": order["lines"][0]["id"],
        "return_request": returned,
    }


def test_every_mutation_but_its_own_tickets_refuses_a_portal_token(
    world: World, portal_targets: dict[str, str], runtime: Runtime, tenant: TenantHandle
) -> None:
    """Every mutation of the schema (a mutation added later is tried too) but `createTicket` and
    `commentOnTicket` answers FORBIDDEN (or NOT_FOUND for a record it may not see), and nothing is
    written: no row, no event, no audit entry, no notification."""
    before = service_counts(runtime, tenant.id)
    answered = {}
    for name in PORTAL_REFUSED_WRITES:
        result = world.portal.execute(_mutation(name, portal_targets))
        codes = {e["extensions"]["code"] for e in result.get("errors", [])}
        if not codes:
            payload = result["data"][name]
            codes = {e["code"] for e in (payload or {}).get("userErrors", [])}
        answered[name] = codes
    allowed = [{"FORBIDDEN"}, {"NOT_FOUND"}, {"FORBIDDEN", "NOT_FOUND"}]
    refused = {name: sorted(codes) for name, codes in answered.items() if codes not in allowed}
    assert refused == {name: [code] for name, code in PUBLIC_WRITES.items()}
    # Its own two changes, on another customer's records: not found.
    commented = world.portal.data(COMMENT, {"input": {"id": world.other_ticket, "body": "Mine?"}})["commentOnTicket"]
    assert [(e["field"], e["code"]) for e in commented["userErrors"]] == [(["input", "id"], "NOT_FOUND")]
    create = "mutation($input: CreateTicketInput!) { createTicket(input: $input) { ticket { id } userErrors { field code } } }"
    made = world.portal.data(create, {"input": {"customerId": world.other_customer, "subject": "s", "body": "b"}})
    assert made["createTicket"] == {
        "ticket": None,
        "userErrors": [{"field": ["input", "customerId"], "code": "NOT_FOUND"}],
    }
    assert service_counts(runtime, tenant.id) == before
