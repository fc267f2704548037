"""The benchmark's reads, CI-sized: on the demo tenant with every industry plugin, each compiled
query (the customers page, the customer 360, a list of each domain, a list of each plugin) is one
SQL statement per request, at two page sizes. `bench/` measures their speed; this only counts.
The fields the plugins add to `Customer` (`vehicles`, `financialAccounts`, `policies`, `claims`)
are compiled too (`GraphQLContribution.sql_fields`): a customer 360 with one of them is one
statement, with the same answer as the resolvers give.

The count is the request's execution (`GraphQLClient.last_statements`, the engine's statement
counter); the demo has rows in every list and their children, so a nested field that fell back to
a loader would show as more statements.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from saas.demo import DEMO_PASSWORD, seed_demo
from saas.notifications.service import notify
from saas.runtime import Runtime
from saas.schema.relay import decode_id, to_global_id
from saas.tenancy.session import tenant_session
from saas.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery
from tests.conftest import GraphQLClient, login

PLUGINS = ("automotive", "finance", "insurance", "manufacturing")

CUSTOMERS_PAGE = """query($first: Int) { customers(first: $first) {
  edges { cursor node { id name lifecycleStage tier industry createdAt updatedAt version
    contacts { id name email phone isPrimary } } }
  pageInfo { hasNextPage endCursor } } }"""

CUSTOMER_360 = """query($id: ID!, $first: Int) { customer(id: $id) {
  id name lifecycleStage owner { id }
  contacts { id name email isPrimary }
  timeline(first: $first) { edges { cursor node { kind occurredAt summary recordId actor { id } } } pageInfo { hasNextPage } }
  opportunities { id name amount currency weightedAmount stage { name probability }
    stageHistory { fromStage { name } toStage { name } changedAt } }
  contracts { id number amount startsOn endsOn }
  paymentPlans { id total installments { position dueOn amount overdue } }
} }"""

# The customer 360 with one field a plugin adds to `Customer`, by plugin: (field, selection).
PLUGIN_FIELDS = {
    "automotive": "vehicles { id vin mileage createdAt serviceRecords { kind mileage } }",
    "finance": "financialAccounts { id number currency cashBalance }",
    "insurance": "policies { id number status premium startsOn } claims { id number status incurred }",
}

# One list of each domain and of each plugin: (name, document); each takes `$first`.
LISTS = {
    "leads": "query($first: Int) { leads(first: $first) { totalCount edges { node { id name status owner { id } channel { name } } } pageInfo { hasNextPage endCursor } } }",
    "opportunities": "query($first: Int) { opportunities(first: $first) { totalCount edges { node { id name amount currency status weightedAmount stage { name } customer { id name } } } pageInfo { hasNextPage } } }",
    "invoices": "query($first: Int) { invoices(first: $first) { edges { node { id number status amount } } } }",
    "tickets": "query($first: Int) { tickets(first: $first) { totalCount edges { node { id subject status priority customer { id name } } } pageInfo { hasNextPage } } }",
    "tickets with comments": "query($first: Int) { tickets(first: $first) { edges { node { id comments(first: 5) { totalCount edges { cursor node { id body public author { id } } } pageInfo { hasNextPage } } } } } }",
    "articles": "query($first: Int) { articles(first: $first) { edges { node { id title status } } } }",
    "returnRequests": "query($first: Int) { returnRequests(first: $first) { edges { node { id status } } } }",
    "workOrders": "query($first: Int) { workOrders(first: $first) { edges { node { id status } } } }",
    "products": "query($first: Int) { products(first: $first) { totalCount edges { cursor node { id sku name unitPrice currency active } } pageInfo { hasNextPage endCursor } } }",
    "auditLog": "query($first: Int) { auditLog(first: $first) { edges { cursor node { id kind action entityType entityId actor before after createdAt } } pageInfo { hasNextPage endCursor } } }",
    "vehicles (automotive)": "query($first: Int) { vehicles(first: $first) { totalCount edges { node { id vin mileage customer { id name } serviceRecords { kind mileage } } } } }",
    "policies (insurance)": "query($first: Int) { policies(first: $first) { totalCount edges { node { id number status } } } }",
    "claims (insurance)": "query($first: Int) { claims(first: $first) { edges { node { id status } } } }",
    "instruments (finance)": "query($first: Int) { instruments(first: $first) { edges { node { id symbol name } } } }",
    "orders (manufacturing)": "query($first: Int) { orders(first: $first) { totalCount edges { cursor node { id status total currency placedThroughPortal createdAt warehouse { code } lines { productId quantity unitPrice lineTotal } } } pageInfo { hasNextPage endCursor } } }",
    "warehouses (manufacturing)": "query($first: Int) { warehouses(first: $first) { totalCount edges { cursor node { id code name active isDefault } } pageInfo { hasNextPage } } }",
    "stockLevels (manufacturing)": "query($first: Int) { stockLevels(first: $first) { totalCount edges { cursor node { productId onHand reserved available warehouse { code } } } pageInfo { hasNextPage endCursor } } }",
    "stockMovements (manufacturing)": "query($first: Int) { stockMovements(first: $first) { totalCount edges { cursor node { id kind quantity onHandAfter orderId createdAt } } pageInfo { hasNextPage endCursor } } }",
}


@pytest.fixture(scope="module")
def demo_tenant(runtime: Runtime) -> Any:
    slug = f"smoke-{secrets.token_hex(4)}"
    return seed_demo(runtime.engine, 30, slug=slug, plugins=runtime.plugins, plugin_names=PLUGINS)


@pytest.fixture(scope="module")
def demo_owner(demo_tenant: Any, graphql_engine: Any) -> GraphQLClient:
    owner = next(user for user in demo_tenant.users if user.role == "owner")
    return login(GraphQLClient(graphql_engine), owner.email, DEMO_PASSWORD, demo_tenant.slug)


@pytest.fixture(scope="module")
def demo_rep(demo_tenant: Any, graphql_engine: Any) -> GraphQLClient:
    """A sales rep: the customers, opportunities and plugin rows they see are a part of the tenant's."""
    rep = next(user for user in demo_tenant.users if user.role == "sales")
    return login(GraphQLClient(graphql_engine), rep.email, DEMO_PASSWORD, demo_tenant.slug)


def _statements(client: GraphQLClient, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], int]:
    data = client.data(query, variables)
    return data, int(client.last_statements)


@pytest.mark.parametrize("first", [5, 50])
def test_the_customers_page_is_one_statement(demo_owner: GraphQLClient, first: int) -> None:
    data, statements = _statements(demo_owner, CUSTOMERS_PAGE, {"first": first})
    assert len(data["customers"]["edges"]) == min(first, 30) + 0 or data["customers"]["edges"]
    assert statements == 1


def test_the_customer_360_is_one_statement(demo_owner: GraphQLClient) -> None:
    edges = demo_owner.data("{ customers(first: 50) { edges { node { id opportunities { id } } } } }")
    busiest = max(edges["customers"]["edges"], key=lambda edge: len(edge["node"]["opportunities"]))["node"]["id"]
    for first in (2, 20):
        data, statements = _statements(demo_owner, CUSTOMER_360, {"id": busiest, "first": first})
        assert data["customer"]["opportunities"] and data["customer"]["timeline"]["edges"]
        assert statements == 1, (first, statements)


@pytest.mark.parametrize("name", sorted(LISTS))
def test_each_domain_and_plugin_list_is_one_statement(demo_owner: GraphQLClient, name: str) -> None:
    counts = {}
    for first in (2, 20):
        data, counts[first] = _statements(demo_owner, LISTS[name], {"first": first})
        (connection,) = data.values()
        assert connection["edges"], f"the demo has no rows for {name}"
    assert counts == {2: 1, 20: 1}, counts


def test_the_plugins_lists_of_one_parent_and_their_reports_are_one_statement(demo_owner: GraphQLClient) -> None:
    """Finance's `transactions` of an account and `priceHistory` of an instrument (NOT_FOUND checked in
    the same statement), insurance's `ratingTables`, automotive's `supplierPerformance`: one statement
    each, at two sizes."""
    accounts = demo_owner.data("{ financialAccounts { id } }")["financialAccounts"]
    today = datetime.now(UTC).date()
    instrument = demo_owner.data("{ instruments(first: 1) { edges { node { id } } } }")["instruments"]["edges"][0]
    reads = {
        "transactions": (
            "query($a: ID!, $first: Int) { transactions(accountId: $a, first: $first) { edges { cursor node { id kind amount occurredAt instrument { symbol } } } pageInfo { hasNextPage } } }",
            [{"a": accounts[0]["id"], "first": 2}, {"a": accounts[0]["id"], "first": 20}],
        ),
        "priceHistory": (
            "query($i: ID!, $f: Date!, $t: Date!) { priceHistory(instrumentId: $i, from: $f, to: $t) { on close } }",
            [
                {"i": instrument["node"]["id"], "f": str(today - timedelta(days=days)), "t": str(today)}
                for days in (7, 400)
            ],
        ),
        "ratingTables": (
            "query($line: InsLine) { ratingTables(line: $line) { id line version baseFrequency factors { name level relativity } } }",
            [{"line": "AUTO"}, {"line": None}],
        ),
        "supplierPerformance": (
            "query($f: Date!, $t: Date!) { supplierPerformance(from: $f, to: $t) { supplier { code } callOffs onTimeRate rejected } }",
            [{"f": "2020-01-01", "t": "2020-01-01"}, {"f": "2020-01-01", "t": "2029-12-31"}],
        ),
    }
    for name, (query, sizes) in reads.items():
        answers = []
        for variables in sizes:
            data, statements = _statements(demo_owner, query, variables)
            assert statements == 1, (name, variables, statements)
            answers.append(data[name])
        assert answers[-1], f"the demo has no rows for {name}"


def _plugin_360(plugin: str, selection: str | None = None) -> str:
    return CUSTOMER_360.replace("paymentPlans {", (selection or PLUGIN_FIELDS[plugin]) + "\n  paymentPlans {")


@pytest.mark.parametrize("caller", ["owner", "sales rep"])
@pytest.mark.parametrize("plugin", sorted(PLUGIN_FIELDS))
def test_the_customer_360_with_a_plugin_field_is_one_statement(
    demo_owner: GraphQLClient, demo_rep: GraphQLClient, plugin: str, caller: str
) -> None:
    client = demo_owner if caller == "owner" else demo_rep
    field = PLUGIN_FIELDS[plugin].split(" ", 1)[0]
    query = "{ customers(first: 50) { edges { node { id " + field + " { id } } } } }"
    edges = client.data(query)["customers"]["edges"]
    busiest = max(edges, key=lambda edge: len(edge["node"][field]))["node"]
    assert busiest[field], f"the demo has no {field} of any customer the {caller} sees"
    variables = {"id": busiest["id"], "first": 5}
    data, statements = _statements(client, _plugin_360(plugin), variables)
    assert statements == 1, statements
    # The same answer as the resolvers and loaders give: the field's `customer { tier }` has no SQL,
    # so the same query with it goes through them.
    slow = PLUGIN_FIELDS[plugin].replace(f"{field} {{", f"{field} {{ customer {{ tier }}", 1)
    resolved, slow_statements = _statements(client, _plugin_360(plugin, slow), variables)
    for row in resolved["customer"][field]:
        assert row.pop("customer") is not None
    assert slow_statements > 1 and resolved == data


def test_the_notifications_webhook_deliveries_and_portal_accesses_are_one_statement(
    demo_tenant: Any, demo_owner: GraphQLClient, runtime: Runtime
) -> None:
    """`notifications` (with `unreadCount`), `webhookDeliveries` (with each delivery's attempts, of
    all webhooks and of one) and `portalAccesses` (with customer and contact): the demo has none,
    so the owner gets some first."""
    me = decode_id(demo_owner.data("{ me { member { id } } }")["me"]["member"]["id"], "Member")
    with tenant_session(runtime.engine, demo_tenant.tenant_id) as session:
        for index in range(25):
            notify(session, me, "smoke.note", f"Note {index}", body="", data={"n": index})
        webhook = Webhook(id=uuid.uuid4(), url="https://hooks.example.com/in", events=["*"], secret_encrypted="x")
        session.add(webhook)
        session.flush()
        for index in range(25):
            delivery = WebhookDelivery(
                id=uuid.uuid4(),
                webhook_id=webhook.id,
                event_id=uuid.uuid4(),
                event_type="customer.created",
                payload={"n": index},
                occurred_at=datetime.now(UTC),
                status="failed",
                attempts=2,
            )
            session.add(delivery)
            session.flush()
            for attempt in (1, 2):
                session.add(WebhookAttempt(delivery_id=delivery.id, attempt=attempt, status_code=500, duration_ms=5))
    contacts = demo_owner.data("{ customers(first: 3) { edges { node { contacts { id } } } } }")["customers"]["edges"]
    for contact in [c["id"] for edge in contacts for c in edge["node"]["contacts"]][:3]:
        made = demo_owner.data(
            "mutation($c: ID!) { createPortalAccess(input: {contactId: $c}) { portalAccess { id } userErrors { code } } }",
            {"c": contact},
        )["createPortalAccess"]
        assert made["portalAccess"], made
    reads = {
        "portalAccesses": "query($first: Int) { portalAccesses(first: $first) { totalCount edges { cursor node { id active createdAt customer { id name } contact { id name } } } pageInfo { hasNextPage endCursor } } }",
        "notifications": "query($first: Int) { notifications(first: $first) { totalCount unreadCount edges { cursor node { id kind title data createdAt readAt } } pageInfo { hasNextPage endCursor } } }",
        "webhookDeliveries": "query($first: Int, $w: ID) { webhookDeliveries(first: $first, webhookId: $w) { edges { cursor node { id eventType status attemptCount attempts { attempt statusCode at } } } pageInfo { hasNextPage endCursor } } }",
    }
    for name, query in reads.items():
        for variables in ({"first": 2}, {"first": 20}, {"first": 20, "w": to_global_id("Webhook", webhook.id)}):
            if "w" in variables and "$w" not in query:
                continue
            data, statements = _statements(demo_owner, query, variables)
            assert statements == 1, (name, variables, statements)
            assert len(data[name]["edges"]) == min(variables["first"], 3 if name == "portalAccesses" else 25), name
