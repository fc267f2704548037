"""The back-office lists compiled into one statement each (`products`, `notifications`, `auditLog`,
`webhookDeliveries`, a ticket's `comments`, `portalAccesses`): every page equals the resolver path's (same rows, order, cursors, counts),
whatever the page size one statement, filters applied alike, and another tenant sees nothing of
the first tenant's rows (nor finds its webhook)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from saas.accounts.graphql.sql import AUDIT_ENTRY
from saas.notifications.graphql.sql import NOTIFICATION
from saas.notifications.service import notify
from saas.portal.graphql.sql import PORTAL_ACCESS
from saas.products.graphql.sql import PRODUCT
from saas.runtime import Runtime
from saas.schema import compiler
from saas.schema.compiler import SqlType
from saas.schema.relay import decode_id, to_global_id
from saas.tenancy.session import tenant_session
from saas.tickets.graphql.sql import TICKET_COMMENT
from saas.webhooks.graphql.sql import WEBHOOK_DELIVERY
from saas.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from tests.conftest import GraphQLClient, TenantHandle
from tests.tickets.support import (
    COMMENT,
    CREATE_ACCESS,
    REVOKE_ACCESS,
    create_contact,
    create_customer,
    create_ticket,
    ok,
)

PAGE_INFO = "pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"

PRODUCTS = f"""query($first: Int, $after: String, $filter: ProductFilterInput) {{
  products(first: $first, after: $after, filter: $filter) {{
    __typename totalCount {PAGE_INFO}
    edges {{ cursor node {{ __typename id sku name description unitPrice currency active version createdAt updatedAt }} }}
  }}
}}"""
NOTIFICATIONS = f"""query($first: Int, $after: String, $unreadOnly: Boolean) {{
  notifications(first: $first, after: $after, unreadOnly: $unreadOnly) {{
    totalCount unreadCount {PAGE_INFO}
    edges {{ cursor node {{ id kind title body data createdAt readAt }} }}
  }}
}}"""
AUDIT = f"""query($first: Int, $after: String, $entityId: ID, $kinds: [AuditKind!], $prefix: String) {{
  auditLog(first: $first, after: $after, entityId: $entityId, kinds: $kinds, actionPrefix: $prefix) {{
    {PAGE_INFO}
    edges {{ cursor node {{ id kind action entityType entityId actor before after requestId clientAddress userAgent createdAt }} }}
  }}
}}"""
DELIVERIES = f"""query($first: Int, $after: String, $webhookId: ID) {{
  webhookDeliveries(first: $first, after: $after, webhookId: $webhookId) {{
    {PAGE_INFO}
    edges {{ cursor node {{ id webhookId eventId eventType payload status attemptCount lastStatusCode lastError
      createdAt deliveredAt attempts {{ attempt statusCode error durationMs at }} }} }}
  }}
}}"""


@contextmanager
def _resolver_path(monkeypatch: pytest.MonkeyPatch, sql_type: SqlType, column: str) -> Iterator[None]:
    """`column` of `sql_type` without SQL, as a field computed in Python: the list falls back."""
    compiler.COMPILED.entries.clear()
    with monkeypatch.context() as patched:
        patched.delitem(sql_type.columns, column)
        yield
    compiler.COMPILED.entries.clear()


def _pages(client: GraphQLClient, query: str, variables: dict[str, Any]) -> tuple[list[dict[str, Any]], set[int]]:
    """Every page, two rows at a time, and the statement counts of their requests."""
    pages, counts, after = [], set(), None
    while True:
        (page,) = client.data(query, {**variables, "first": 2, "after": after}).values()
        pages.append(page)
        counts.add(int(client.last_statements))
        if not page["pageInfo"]["hasNextPage"]:
            return pages, counts
        after = page["pageInfo"]["endCursor"]


def _both_paths(
    client: GraphQLClient,
    monkeypatch: pytest.MonkeyPatch,
    query: str,
    variables: dict[str, Any],
    sql_type: SqlType,
    column: str,
) -> list[dict[str, Any]]:
    """The compiled pages (one statement each), asserted equal to the resolver path's."""
    compiled, counts = _pages(client, query, variables)
    assert counts == {1}, counts
    with _resolver_path(monkeypatch, sql_type, column):
        resolved, _ = _pages(client, query, variables)
        assert not compiler.COMPILED.entries  # the resolver path really ran
    assert resolved == compiled
    return compiled


def _rows(pages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [edge["node"] for page in pages for edge in page["edges"]]


def _me(client: GraphQLClient) -> uuid.UUID:
    return decode_id(client.data("{ me { member { id } } }")["me"]["member"]["id"], "Member")


# --- products ----------------------------------------------------------------------------------


def _create_product(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    payload = client.data(
        "mutation($input: CreateProductInput!) { createProduct(input: $input) { product { id } userErrors { code } } }",
        {"input": {"unitPrice": "19.90", **fields}},
    )["createProduct"]
    assert payload["userErrors"] == [], payload
    return payload["product"]  # type: ignore[no-any-return]


def test_products_compiled_equal_the_resolver_path(
    owner: GraphQLClient, other_owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    names = ["Cobalt", "Äpfel", "Bolt_50%", "Cobalt", "bolt", "Cable", "Delta"]
    for index, name in enumerate(names):
        _create_product(owner, sku=f"P-{index}", name=name, unitPrice=f"{index}.5", active=name != "Cable")
    everything = _rows(_both_paths(owner, monkeypatch, PRODUCTS, {}, PRODUCT, "description"))
    assert sorted(row["name"] for row in everything) == sorted(names)
    assert everything[0]["__typename"] == "Product" and everything[0]["unitPrice"].endswith(".50")
    # The filters narrow both paths alike: a search is literal (`_` and `%` match themselves).
    for flt, expected in (
        ({"active": False}, ["Cable"]),
        ({"search": "bolt"}, ["Bolt_50%", "bolt"]),
        ({"search": " 50% "}, ["Bolt_50%"]),
        ({"search": "t%5"}, []),
        ({"search": "t_5"}, ["Bolt_50%"]),
        ({"search": "p-1", "active": True}, ["Äpfel"]),
    ):
        pages = _both_paths(owner, monkeypatch, PRODUCTS, {"filter": flt}, PRODUCT, "description")
        assert sorted(row["name"] for row in _rows(pages)) == sorted(expected), flt
        assert pages[0]["totalCount"] == len(expected)
    # Another tenant: none of them, and one statement still.
    theirs = other_owner.data(PRODUCTS, {"first": 50})["products"]
    assert (theirs["totalCount"], theirs["edges"]) == (0, [])
    assert other_owner.last_statements == 1


# --- notifications -----------------------------------------------------------------------------


def test_notifications_compiled_equal_the_resolver_path(
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    me = _me(owner)
    with tenant_session(runtime.engine, tenant.id) as session:  # one transaction: equal created_at, a tie
        for index in range(3):
            notify(session, me, "test.tie", f"Tie {index}", body="", data={"n": index, "nested": {"a": [1, 2]}})
    for index in range(3):
        with tenant_session(runtime.engine, tenant.id) as session:
            notify(session, me, "test.note", f"Note {index}", body=f'about "{index}", : here', data={"n": index})
    first = owner.data(NOTIFICATIONS, {"first": 1})["notifications"]["edges"][0]["node"]["id"]
    owner.data(
        "mutation($ids: [ID!]!) { markNotificationsRead(input: {ids: $ids}) { notifications { id } } }",
        {"ids": [first]},
    )
    everything = _both_paths(owner, monkeypatch, NOTIFICATIONS, {}, NOTIFICATION, "body")
    assert (everything[0]["totalCount"], everything[0]["unreadCount"]) == (6, 5)
    assert len(_rows(everything)) == 6 and _rows(everything)[0]["readAt"] is not None
    unread = _both_paths(owner, monkeypatch, NOTIFICATIONS, {"unreadOnly": True}, NOTIFICATION, "body")
    assert (unread[0]["totalCount"], unread[0]["unreadCount"]) == (5, 5)
    assert all(row["readAt"] is None for row in _rows(unread)) and len(_rows(unread)) == 5
    # Another tenant's owner (and so another member) sees none of them.
    with tenant_session(runtime.engine, other_tenant.id) as session:
        notify(session, _me(other_owner), "test.note", "Theirs", body="", data={})
    theirs = other_owner.data(NOTIFICATIONS, {"first": 50})["notifications"]
    assert [edge["node"]["title"] for edge in theirs["edges"]] == ["Theirs"]
    assert (theirs["totalCount"], theirs["unreadCount"]) == (1, 1) and other_owner.last_statements == 1


# --- auditLog ----------------------------------------------------------------------------------


def test_audit_log_compiled_equals_the_resolver_path(
    owner: GraphQLClient, other_owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    product = _create_product(owner, sku="A-1", name="Audited")
    owner.data(
        "mutation($input: UpdateProductInput!) { updateProduct(input: $input) { product { id } } }",
        {"input": {"id": product["id"], "version": 1, "name": "Audited, renamed"}},
    )
    _create_product(owner, sku="A-2", name="Other")
    everything = _rows(_both_paths(owner, monkeypatch, AUDIT, {}, AUDIT_ENTRY, "userAgent"))
    assert len(everything) >= 3
    mine = _rows(_both_paths(owner, monkeypatch, AUDIT, {"entityId": product["id"]}, AUDIT_ENTRY, "userAgent"))
    assert [row["entityId"] for row in mine] == [product["id"], product["id"]]
    assert mine[0]["before"] is not None and mine[1]["before"] is None
    for variables in (
        {"kinds": ["CHANGE"]},
        {"kinds": ["ACCESS", "CHANGE"]},
        {"prefix": "product."},
        {"prefix": "no_such%"},
    ):
        pages = _both_paths(owner, monkeypatch, AUDIT, variables, AUDIT_ENTRY, "userAgent")
        if variables.get("prefix") == "no_such%":
            assert _rows(pages) == []
    # A long entity type and id: the global id is not wrapped as PostgreSQL's base64 would write it.
    long_id = to_global_id("SomeRatherLongEntityTypeName", "x" * 60)
    assert "\n" not in long_id
    # Another tenant sees none of these entries, not even asking for the entity.
    theirs = other_owner.data(AUDIT, {"first": 50, "entityId": product["id"]})["auditLog"]
    assert theirs["edges"] == [] and other_owner.last_statements == 1


# --- webhookDeliveries -------------------------------------------------------------------------


def _webhook_with_deliveries(runtime: Runtime, tenant_id: uuid.UUID, count: int) -> uuid.UUID:
    at = datetime(2026, 11, 1, 12, tzinfo=UTC)
    with tenant_session(runtime.engine, tenant_id) as session:
        webhook = Webhook(id=uuid.uuid4(), url="https://hooks.example.com/in", events=["*"], secret_encrypted="x")
        session.add(webhook)
        session.flush()
        for index in range(count):
            delivery = WebhookDelivery(
                id=uuid.uuid4(),
                webhook_id=webhook.id,
                event_id=uuid.uuid4(),
                event_type="customer.created",
                payload={"index": index, "data": {"name": f"C, {index}"}},
                occurred_at=at + timedelta(minutes=index // 2),  # pairs of equal times: ties
                status=("pending", "succeeded", "failed")[index % 3],
                attempts=index % 3,
                last_status_code=500 if index % 3 else None,
                last_error="boom" if index % 3 == 2 else None,
                delivered_at=at if index % 3 == 1 else None,
            )
            session.add(delivery)
            session.flush()
            for attempt in range(index % 3, 0, -1):
                session.add(
                    WebhookAttempt(
                        delivery_id=delivery.id, attempt=attempt, status_code=500, error=None, duration_ms=attempt * 10
                    )
                )
    return webhook.id


def test_webhook_deliveries_compiled_equal_the_resolver_path(
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: TenantHandle,
    runtime: Runtime,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    webhook = _webhook_with_deliveries(runtime, tenant.id, 7)
    other_webhook = _webhook_with_deliveries(runtime, tenant.id, 1)
    everything = _rows(_both_paths(owner, monkeypatch, DELIVERIES, {}, WEBHOOK_DELIVERY, "lastError"))
    assert len(everything) == 8
    webhook_id = to_global_id("Webhook", webhook)
    mine = _rows(_both_paths(owner, monkeypatch, DELIVERIES, {"webhookId": webhook_id}, WEBHOOK_DELIVERY, "lastError"))
    assert len(mine) == 7 and {row["webhookId"] for row in mine} == {webhook_id}
    assert sorted(len(row["attempts"]) for row in mine) == [0, 0, 0, 1, 1, 2, 2]
    assert all([a["attempt"] for a in row["attempts"]] == sorted(a["attempt"] for a in row["attempts"]) for row in mine)
    assert other_webhook != webhook
    # Another tenant: no deliveries, and the first tenant's webhook is NOT_FOUND, in one statement.
    theirs = other_owner.data(DELIVERIES, {"first": 50})["webhookDeliveries"]
    assert theirs["edges"] == [] and other_owner.last_statements == 1
    assert other_owner.error_codes(DELIVERIES, {"first": 50, "webhookId": webhook_id}) == ["NOT_FOUND"]
    assert other_owner.last_statements == 1
    missing = to_global_id("Webhook", uuid.uuid4())
    assert owner.error_codes(DELIVERIES, {"webhookId": missing}) == ["NOT_FOUND"]


# --- a ticket's comments -----------------------------------------------------------------------

TICKET_COMMENTS = f"""query($id: ID!, $first: Int, $after: String) {{
  ticket(id: $id) {{ id comments(first: $first, after: $after) {{
    __typename totalCount {PAGE_INFO}
    edges {{ cursor node {{ __typename id body public fromCustomer createdAt author {{ id email }} }} }}
  }} }}
}}"""


def _comment_pages(client: GraphQLClient, ticket: str) -> tuple[list[dict[str, Any]], set[int]]:
    pages, counts, after = [], set(), None
    while True:
        page = client.data(TICKET_COMMENTS, {"id": ticket, "first": 2, "after": after})["ticket"]["comments"]
        pages.append(page)
        counts.add(int(client.last_statements))
        if not page["pageInfo"]["hasNextPage"]:
            return pages, counts
        after = page["pageInfo"]["endCursor"]


def test_ticket_comments_compiled_equal_the_resolver_path(
    owner: GraphQLClient, other_owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    customer = create_customer(owner, "Comments Co")
    ticket = create_ticket(owner, customer)["id"]
    for n in range(5):
        ok(owner, COMMENT, {"id": ticket, "body": f'Note {n}, "quoted"', "public": n % 2 == 0}, "commentOnTicket")
    compiled, counts = _comment_pages(owner, ticket)
    assert counts == {1}, counts
    assert compiled[0]["totalCount"] == 5 and len(_rows(compiled)) == 5
    assert [row["body"] for row in _rows(compiled)] == [f'Note {n}, "quoted"' for n in range(5)]  # oldest first
    assert _rows(compiled)[0]["author"]["email"] and _rows(compiled)[0]["__typename"] == "TicketComment"
    with _resolver_path(monkeypatch, TICKET_COMMENT, "body"):
        resolved, _ = _comment_pages(owner, ticket)
        assert not compiler.COMPILED.entries
    assert resolved == compiled
    # Another tenant finds neither the ticket nor its comments.
    assert other_owner.error_codes(TICKET_COMMENTS, {"id": ticket, "first": 2}) == ["NOT_FOUND"]


# --- portalAccesses ----------------------------------------------------------------------------

ACCESSES = f"""query($first: Int, $after: String, $customerId: ID) {{
  portalAccesses(first: $first, after: $after, customerId: $customerId) {{
    totalCount {PAGE_INFO}
    edges {{ cursor node {{ id createdBy expiresAt revokedAt createdAt active customer {{ id name }} contact {{ id name }} }} }}
  }}
}}"""


def test_portal_accesses_compiled_equal_the_resolver_path(
    owner: GraphQLClient, other_owner: GraphQLClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    customers = [create_customer(owner, "Portal A"), create_customer(owner, "Portal B")]
    accesses = []
    for index in range(5):
        contact = create_contact(owner, customers[index % 2])
        accesses.append(ok(owner, CREATE_ACCESS, {"contactId": contact}, "createPortalAccess")["portalAccess"]["id"])
    ok(owner, REVOKE_ACCESS, {"id": accesses[1]}, "revokePortalAccess")
    everything = _both_paths(owner, monkeypatch, ACCESSES, {}, PORTAL_ACCESS, "createdBy")
    rows = _rows(everything)
    assert [row["id"] for row in rows] == list(reversed(accesses)) and everything[0]["totalCount"] == 5
    assert [row["active"] for row in rows] == [True, True, True, False, True]
    assert {row["customer"]["name"] for row in rows} == {"Portal A", "Portal B"} and all(row["contact"] for row in rows)
    theirs = _rows(_both_paths(owner, monkeypatch, ACCESSES, {"customerId": customers[1]}, PORTAL_ACCESS, "createdBy"))
    assert [row["id"] for row in theirs] == [accesses[3], accesses[1]]
    # Another tenant: none of them, nor of the first tenant's customer.
    for variables in ({}, {"customerId": customers[0]}):
        page = other_owner.data(ACCESSES, {"first": 50, **variables})["portalAccesses"]
        assert (page["totalCount"], page["edges"]) == (0, []) and other_owner.last_statements == 1


# --- bad input ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "variables"),
    [
        (PRODUCTS, {}),
        (NOTIFICATIONS, {}),
        (AUDIT, {}),
        (DELIVERIES, {}),
        (ACCESSES, {}),
    ],
    ids=["products", "notifications", "auditLog", "webhookDeliveries", "portalAccesses"],
)
def test_a_bad_cursor_or_page_size_is_bad_user_input(
    owner: GraphQLClient, query: str, variables: dict[str, Any]
) -> None:
    for bad in ({"after": "not a cursor"}, {"after": "WyJ4Il0="}, {"first": -1}, {"first": 10_000}):
        assert owner.error_codes(query, {**variables, **bad}) == ["BAD_USER_INPUT"], bad
