"""The links between tickets, articles, work orders and customers, compiled into the parent's one
statement: `Customer.tickets`, `Ticket.article`, `Article.sourceTicket`, `WorkOrder.ticket`. Each joins
the child under the child's own visibility rule (a caller who cannot read the child gets null, or an
empty page), whatever the page size one statement, and the resolver path answers alike."""

from __future__ import annotations

from typing import Any

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.tickets.support import (
    ASSIGN,
    CREATE_ACCESS,
    create_contact,
    create_customer,
    create_ticket,
    member_id,
    ok,
)

ERRORS = "userErrors { field code message }"
RESOLVE = f"""mutation($input: ResolveTicketInput!) {{ resolveTicket(input: $input) {{
  ticket {{ id }} article {{ id status }} {ERRORS} }} }}"""
PUBLISH = (
    f"mutation($input: PublishArticleInput!) {{ publishArticle(input: $input) {{ article {{ id status }} {ERRORS} }} }}"
)
CREATE_WORK_ORDER = f"""mutation($input: CreateWorkOrderInput!) {{
  createWorkOrder(input: $input) {{ workOrder {{ id }} {ERRORS} }} }}"""

CUSTOMER_TICKETS = """query($id: ID!, $first: Int, $after: String, $filter: TicketFilterInput) {
  customer(id: $id) { id name tickets(first: $first, after: $after, filter: $filter) {
    totalCount pageInfo { hasNextPage hasPreviousPage endCursor }
    edges { cursor node { id number subject status assignee { id } article { id } } } } } }"""
TICKETS_WITH_ARTICLES = """query($first: Int) { tickets(first: $first) {
  totalCount edges { node { id number article { id title status sourceTicket { id } } } } } }"""
ARTICLES_WITH_TICKETS = """{ articles(first: 50) { edges { node { id title sourceTicket { id number } } } } }"""
WORK_ORDERS = """{ workOrders(first: 50) { edges { node { id ticket { id number article { id } } } } } }"""
# A comment's `authorName` has no SQL mapping: the same selection then runs through the resolvers.
FALLBACK = " comments(first: 1) { totalCount edges { node { authorName } } }"


def _ids(page: dict[str, Any]) -> list[str]:
    return [edge["node"]["id"] for edge in page["edges"]]


def _customer_tickets(client: GraphQLClient, customer: str, **variables: Any) -> dict[str, Any]:
    return client.data(CUSTOMER_TICKETS, {"id": customer, **variables})["customer"]["tickets"]  # type: ignore[no-any-return]


def _both_paths(client: GraphQLClient, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
    """The compiled answer and its statement count; asserts the resolver path answers the same."""
    compiled = client.data(query, variables)
    statements = client.last_statements
    resolved = client.data(query.replace("subject status", f"subject status{FALLBACK}"), variables)
    assert _without_comments(resolved) == compiled
    return compiled, statements


def _without_comments(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_comments(v) for k, v in value.items() if k != "comments"}
    if isinstance(value, list):
        return [_without_comments(v) for v in value]
    return value


def test_customer_tickets_is_one_statement_paged_and_filtered(owner: GraphQLClient, tenant: TenantHandle) -> None:
    customer, other = create_customer(owner, "Paged Co"), create_customer(owner, "Other Co")
    made = [create_ticket(owner, customer, subject=f"Printer {i}")["id"] for i in range(5)]
    create_ticket(owner, other, subject="Not theirs")
    agent = add_member(owner, tenant, "service")
    ok(owner, ASSIGN, {"id": made[0], "assigneeId": member_id(agent)}, "assignTicket")

    counts = {}
    for first in (1, 5):
        page, counts[first] = _both_paths(owner, CUSTOMER_TICKETS, {"id": customer, "first": first})
        tickets = page["customer"]["tickets"]
        assert tickets["totalCount"] == 5 and _ids(tickets) == list(reversed(made))[:first]
    assert counts == {1: 1, 5: 1}

    # Keyset pages: newest first, the cursor continues where the page ended.
    first_page = _customer_tickets(owner, customer, first=2)
    assert first_page["pageInfo"] == {
        "hasNextPage": True,
        "hasPreviousPage": False,
        "endCursor": first_page["edges"][-1]["cursor"],
    }
    rest, statements = _both_paths(
        owner, CUSTOMER_TICKETS, {"id": customer, "first": 10, "after": first_page["pageInfo"]["endCursor"]}
    )
    assert statements == 1
    assert _ids(first_page) + _ids(rest["customer"]["tickets"]) == list(reversed(made))
    assert rest["customer"]["tickets"]["pageInfo"]["hasPreviousPage"] is True

    # The filter narrows them, in the statement and on the resolver path.
    assigned, statements = _both_paths(
        owner, CUSTOMER_TICKETS, {"id": customer, "filter": {"assigneeId": member_id(agent)}}
    )
    assert statements == 1 and _ids(assigned["customer"]["tickets"]) == [made[0]]
    searched = _customer_tickets(owner, customer, filter={"search": "printer 3", "status": "NEW"})
    assert _ids(searched) == [made[3]]
    # A malformed id in the filter is refused as the root list refuses it.
    bad = {"assigneeId": "nope"}
    root = "query($filter: TicketFilterInput) { tickets(filter: $filter) { totalCount } }"
    assert owner.error_codes(CUSTOMER_TICKETS, {"id": customer, "filter": bad}) == owner.error_codes(
        root, {"filter": bad}
    )
    assert owner.error_codes(CUSTOMER_TICKETS, {"id": customer, "first": 101}) == ["BAD_USER_INPUT"]
    # The count alone is one statement too.
    count_only = "query($id: ID!) { customer(id: $id) { tickets { totalCount } timeline { __typename } } }"
    data = owner.data(count_only, {"id": customer})["customer"]
    assert data["tickets"] == {"totalCount": 5} and owner.last_statements == 1


def test_customer_tickets_follow_the_ticket_visibility_rule(owner: GraphQLClient, tenant: TenantHandle) -> None:
    customer = create_customer(owner, "Seen Co")
    made = [create_ticket(owner, customer, subject=f"T{i}")["id"] for i in range(3)]
    agent, colleague = add_member(owner, tenant, "service"), add_member(owner, tenant, "service")
    ok(owner, ASSIGN, {"id": made[0], "assigneeId": member_id(agent)}, "assignTicket")
    ok(owner, ASSIGN, {"id": made[1], "assigneeId": member_id(colleague)}, "assignTicket")
    # An agent sees its own tickets and the unassigned queue, not a colleague's.
    page, statements = _both_paths(agent, CUSTOMER_TICKETS, {"id": customer})
    assert statements == 1 and set(_ids(page["customer"]["tickets"])) == {made[0], made[2]}
    assert page["customer"]["tickets"]["totalCount"] == 2
    # An API key that reads customers but not tickets sees the customer and no ticket.
    secret = owner.data('mutation { createApiKey(input: {name: "crm", scopes: ["customers:read"]}) { secret } }')[
        "createApiKey"
    ]["secret"]
    key = owner.as_token(secret)
    page, _ = _both_paths(key, CUSTOMER_TICKETS, {"id": customer})
    assert page["customer"]["tickets"] == {
        "totalCount": 0,
        "pageInfo": {"hasNextPage": False, "hasPreviousPage": False, "endCursor": None},
        "edges": [],
    }


def test_customer_tickets_of_another_tenant_are_not_found(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    customer = create_customer(owner, "Walled Co")
    create_ticket(owner, customer)
    assert other_owner.error_codes(CUSTOMER_TICKETS, {"id": customer}) == ["NOT_FOUND"]
    theirs = create_customer(other_owner, "Their Co")
    assert _customer_tickets(other_owner, theirs)["totalCount"] == 0
    # A ticket filter naming the first tenant's customer finds nothing in the second's.
    page = _customer_tickets(other_owner, theirs, filter={"customerId": customer})
    assert page["totalCount"] == 0


def _resolved_ticket(owner: GraphQLClient, customer: str, subject: str, *, publish: bool) -> tuple[str, str]:
    ticket = create_ticket(owner, customer, subject=subject)["id"]
    article = ok(owner, RESOLVE, {"id": ticket, "solution": f"Solved: {subject}"}, "resolveTicket")["article"]["id"]
    if publish:
        ok(owner, PUBLISH, {"id": article}, "publishArticle")
    return ticket, article


def test_a_page_of_tickets_with_their_articles_is_one_statement(owner: GraphQLClient) -> None:
    customer = create_customer(owner, "Fifty Co")
    links = dict(_resolved_ticket(owner, customer, f"Jam {i}", publish=i % 2 == 0) for i in range(4))
    for i in range(46):
        create_ticket(owner, customer, subject=f"Open {i}")
    counts = {}
    for first in (5, 50):
        data = owner.data(TICKETS_WITH_ARTICLES, {"first": first})["tickets"]
        counts[first] = owner.last_statements
        assert len(data["edges"]) == first
    assert counts == {5: 1, 50: 1}
    found = {e["node"]["id"]: e["node"]["article"] for e in data["edges"] if e["node"]["article"]}
    assert {t: a["id"] for t, a in found.items()} == links
    assert all(a["sourceTicket"]["id"] == t for t, a in found.items())
    # The resolver path gives the same page.
    resolved = owner.data(TICKETS_WITH_ARTICLES.replace("number article", f"number{FALLBACK} article"), {"first": 50})
    assert _without_comments(resolved)["tickets"] == data


def test_a_portal_token_reads_published_articles_of_its_tickets_only(owner: GraphQLClient) -> None:
    customer = create_customer(owner, "Portal Co")
    published_ticket, published = _resolved_ticket(owner, customer, "Published", publish=True)
    draft_ticket, _ = _resolved_ticket(owner, customer, "Draft", publish=False)
    foreign_ticket, foreign_article = _resolved_ticket(owner, create_customer(owner, "Else Co"), "Else", publish=True)
    token = ok(owner, CREATE_ACCESS, {"contactId": create_contact(owner, customer)}, "createPortalAccess")["token"]
    portal = owner.as_token(token)
    for query in (TICKETS_WITH_ARTICLES, TICKETS_WITH_ARTICLES.replace("number article", f"number{FALLBACK} article")):
        edges = portal.data(query, {"first": 10})["tickets"]["edges"]
        articles = {e["node"]["id"]: e["node"]["article"] for e in edges}
        assert set(articles) == {published_ticket, draft_ticket}
        assert articles[draft_ticket] is None
        assert articles[published_ticket]["id"] == published  # type: ignore[index]
        assert articles[published_ticket]["sourceTicket"] == {"id": published_ticket}  # type: ignore[index]
    # A published article of another customer's ticket: readable, its source ticket is not.
    hits = portal.data(ARTICLES_WITH_TICKETS)["articles"]["edges"]
    by_id = {e["node"]["id"]: e["node"]["sourceTicket"] for e in hits}
    assert by_id[foreign_article] is None and by_id[published] == {"id": published_ticket, "number": "T-000001"}
    node = "query($id: ID!) { node(id: $id) { ... on Article { sourceTicket { id } } } }"
    assert portal.data(node, {"id": foreign_article})["node"] == {"sourceTicket": None}
    assert owner.data(node, {"id": foreign_article})["node"] == {"sourceTicket": {"id": foreign_ticket}}


def test_a_rep_who_cannot_see_the_ticket_gets_null(owner: GraphQLClient, tenant: TenantHandle) -> None:
    rep = add_member(owner, tenant, "sales")
    mine = create_customer(rep, "Rep Co")
    theirs = create_customer(owner, "Owner Co", ownerId=member_id(owner))
    _, seen_article = _resolved_ticket(owner, mine, "Rep's", publish=True)
    hidden_ticket, hidden_article = _resolved_ticket(owner, theirs, "Owner's", publish=True)
    rows = {e["node"]["id"]: e["node"]["sourceTicket"] for e in rep.data(ARTICLES_WITH_TICKETS)["articles"]["edges"]}
    assert rows[hidden_article] is None and rows[seen_article] is not None
    rep.data(ARTICLES_WITH_TICKETS)
    assert rep.last_statements == 1
    assert {e["node"]["id"]: e["node"]["sourceTicket"] for e in owner.data(ARTICLES_WITH_TICKETS)["articles"]["edges"]}[
        hidden_article
    ] == {"id": hidden_ticket, "number": "T-000002"}


def test_work_orders_join_their_tickets_under_the_tickets_rule(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner, "Visit Co")
    technician = add_member(owner, tenant, "service")
    colleague = add_member(owner, tenant, "service")
    tickets = [create_ticket(owner, customer, subject=f"Visit {i}")["id"] for i in range(3)]
    ok(owner, ASSIGN, {"id": tickets[1], "assigneeId": member_id(colleague)}, "assignTicket")
    for i, ticket in enumerate(tickets):
        ok(
            owner,
            CREATE_WORK_ORDER,
            {
                "customerId": customer,
                "ticketId": ticket,
                "technicianId": member_id(technician),
                "kind": "REPAIR",
                "startsAt": f"2031-03-0{i + 1}T09:00:00+00:00",
                "endsAt": f"2031-03-0{i + 1}T11:00:00+00:00",
            },
            "createWorkOrder",
        )
    for client, visible in ((owner, set(tickets)), (technician, {tickets[0], tickets[2]})):
        edges = client.data(WORK_ORDERS)["workOrders"]["edges"]
        assert client.last_statements == 1
        assert {e["node"]["ticket"]["id"] for e in edges if e["node"]["ticket"]} == visible
        assert len(edges) == 3
        resolved = client.data(WORK_ORDERS.replace("ticket { id", "ticket { id" + FALLBACK))
        assert _without_comments(resolved["workOrders"]["edges"]) == edges


def test_the_resolver_path_of_the_links_does_not_grow_with_the_page(owner: GraphQLClient, tenant: TenantHandle) -> None:
    """A comment's `authorName` sends the whole selection through the resolvers: the links are read by batched
    loaders there, so a page of 6 costs the statements a page of 2 does."""
    customer = create_customer(owner, "Batch Co")
    technician = add_member(owner, tenant, "service")
    for i in range(6):
        ticket, _ = _resolved_ticket(owner, customer, f"Batch {i}", publish=i % 2 == 0)
        ok(
            owner,
            CREATE_WORK_ORDER,
            {
                "customerId": customer,
                "ticketId": ticket,
                "technicianId": member_id(technician),
                "kind": "REPAIR",
                "startsAt": f"2031-04-{i + 1:02d}T09:00:00+00:00",
                "endsAt": f"2031-04-{i + 1:02d}T11:00:00+00:00",
            },
            "createWorkOrder",
        )
    reads = {
        "Ticket.article": (
            "query($first: Int) { tickets(first: $first) { edges { node { id"
            + FALLBACK
            + " article { id sourceTicket { id } } } } } }",
            "tickets",
        ),
        "Article.sourceTicket": (
            "query($first: Int) { articles(first: $first) { edges { node { id sourceTicket { id"
            + FALLBACK
            + " } } } } }",
            "articles",
        ),
        "WorkOrder.ticket": (
            "query($first: Int) { workOrders(first: $first) { edges { node { id ticket { id"
            + FALLBACK
            + " article { id } } } } } }",
            "workOrders",
        ),
    }
    for link, (query, root) in reads.items():
        statements = {}
        for first in (2, 6):
            edges = owner.data(query, {"first": first})[root]["edges"]
            statements[first] = owner.last_statements
            assert len(edges) == first, link
            assert all(_linked(edge["node"]) for edge in edges), link
        assert statements[2] == statements[6] > 1, (link, statements)


def _linked(node: dict[str, Any]) -> bool:
    """Every record of this test is linked: each ticket has its article, each article and work order its ticket."""
    return any(node.get(key) for key in ("article", "sourceTicket", "ticket"))
