"""Operations and helpers shared by the manufacturing tests (through the real GraphQL engine)."""

from __future__ import annotations

import asyncio
import secrets
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import text

if TYPE_CHECKING:
    from saas.plugin_api.testing import PluginTestTenant

USER_ERRORS = "userErrors { field code message }"
LEVEL = "productId warehouseId onHand reserved available lowStockThreshold"
ORDER = "id status currency total customerId warehouseId placedThroughPortal version lines { productId quantity unitPrice lineTotal }"
SHIPMENT = "id status carrier trackingNumber orderId events { status description }"

ADD_MEMBER = "mutation($input: AddMemberInput!) { addMember(input: $input) { invitationToken userErrors { code } } }"
ACCEPT = (
    "mutation($input: AcceptInvitationInput!) { acceptInvitation(input: $input) { member { id } userErrors { code } } }"
)
ENABLE = f"""mutation($input: EnablePluginInput!) {{ enablePlugin(input: $input) {{ plugin {{ name enabled settings }} {USER_ERRORS} }} }}"""
DISABLE = f"""mutation($input: DisablePluginInput!) {{ disablePlugin(input: $input) {{ plugin {{ enabled }} {USER_ERRORS} }} }}"""
CREATE_PRODUCT = f"""mutation($input: CreateProductInput!) {{ createProduct(input: $input) {{ product {{ id sku }} {USER_ERRORS} }} }}"""
CREATE_CUSTOMER = (
    "mutation($name: String!) { createCustomer(input: {name: $name, allowDuplicate: true}) { customer { id } } }"
)
CREATE_CONTACT = 'mutation($c: ID!) { createContact(input: {customerId: $c, name: "Pat Buyer"}) { contact { id } } }'
WAREHOUSES = "{ warehouses { totalCount edges { node { id code name isDefault active version } } } }"
CREATE_WAREHOUSE = f"""mutation($input: MfgCreateWarehouseInput!) {{ createWarehouse(input: $input) {{ warehouse {{ id code isDefault }} {USER_ERRORS} }} }}"""
MOVE = f"""mutation($input: MfgRecordStockMovementInput!) {{
  recordStockMovement(input: $input) {{ movement {{ id kind quantity onHandAfter reservedAfter reference actor }} stockLevel {{ {LEVEL} }} {USER_ERRORS} }}
}}"""
LEVELS = f"""query($first: Int, $after: String, $filter: MfgStockLevelFilterInput) {{
  stockLevels(first: $first, after: $after, filter: $filter) {{ totalCount pageInfo {{ hasNextPage endCursor }} edges {{ node {{ {LEVEL} product {{ sku }} warehouse {{ code }} }} }} }}
}}"""
MOVEMENTS = """query($filter: MfgStockMovementFilterInput) {
  stockMovements(first: 100, filter: $filter) { totalCount edges { node { kind quantity onHandAfter reservedAfter orderId shipmentId } } }
}"""
MOVEMENT_IDS = "{ stockMovements(first: 1) { edges { node { id kind quantity } } } }"
THRESHOLD = f"""mutation($input: MfgSetLowStockThresholdInput!) {{ setLowStockThreshold(input: $input) {{ stockLevel {{ {LEVEL} }} {USER_ERRORS} }} }}"""
PLACE = (
    f"""mutation($input: MfgPlaceOrderInput!) {{ placeOrder(input: $input) {{ order {{ {ORDER} }} {USER_ERRORS} }} }}"""
)
CANCEL = f"""mutation($input: MfgCancelOrderInput!) {{ cancelOrder(input: $input) {{ order {{ id status version }} {USER_ERRORS} }} }}"""
ORDER_QUERY = f"query($id: ID!) {{ order(id: $id) {{ {ORDER} }} }}"
ORDERS = "query($filter: MfgOrderFilterInput) { orders(first: 100, filter: $filter) { totalCount edges { node { id status customerId } } } }"
# Portal access is the core's (`createPortalAccess`, `revokePortalAccess`): the plugin serves its tokens.
PORTAL_ACCESS = f"""mutation($input: CreatePortalAccessInput!) {{ createPortalAccess(input: $input) {{ portalAccess {{ id active customer {{ id }} contact {{ id }} expiresAt revokedAt }} token {USER_ERRORS} }} }}"""
REVOKE_PORTAL = f"""mutation($input: RevokePortalAccessInput!) {{ revokePortalAccess(input: $input) {{ portalAccess {{ id revokedAt }} {USER_ERRORS} }} }}"""
CREATE_SHIPMENT = f"""mutation($input: MfgCreateShipmentInput!) {{ createShipment(input: $input) {{ shipment {{ {SHIPMENT} }} {USER_ERRORS} }} }}"""
DISPATCH = f"""mutation($input: MfgDispatchShipmentInput!) {{ dispatchShipment(input: $input) {{ shipment {{ {SHIPMENT} dispatchedAt }} {USER_ERRORS} }} }}"""
SHIPMENT_STATUS = f"""mutation($input: MfgUpdateShipmentStatusInput!) {{ updateShipmentStatus(input: $input) {{ shipment {{ {SHIPMENT} deliveredAt }} {USER_ERRORS} }} }}"""
SHIPMENT_QUERY = f"query($id: ID!) {{ shipment(id: $id) {{ {SHIPMENT} }} }}"
INVENTORY_CHANGED = "subscription($p: [ID!]) { inventoryChanged(productIds: $p) { productId warehouseId kind quantity onHand reserved available orderId } }"
SHIPMENT_UPDATED = "subscription($s: ID) { shipmentUpdated(shipmentId: $s) { shipmentId orderId status carrier trackingNumber description } }"


def add_member(client: Any, tenant: PluginTestTenant, role: str) -> Any:
    """A new member of `tenant` with `role` (invited, then accepted as a new account), logged in."""
    from saas.plugin_api.testing import TEST_PASSWORD

    email = f"{role}-{secrets.token_hex(3)}@{tenant.slug}.example.com"
    invited = client.data(ADD_MEMBER, {"input": {"email": email, "role": role.upper()}})["addMember"]
    assert invited["invitationToken"], invited
    variables = {"input": {"token": invited["invitationToken"], "password": TEST_PASSWORD}}
    accepted = client.as_token(None).data(ACCEPT, variables)["acceptInvitation"]
    assert accepted["member"], accepted
    return client.login(email, TEST_PASSWORD, tenant.slug)


def count_rows(tenant: PluginTestTenant, table: str, where: str = "TRUE", **params: Any) -> int:
    """The tenant's rows in `table`, read as the application role (under RLS)."""
    with tenant.session() as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one())


def ok(client: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """The payload of a mutation that must succeed without user errors."""
    payload = client.data(query, variables)[field]
    assert payload["userErrors"] == [], payload
    return payload


def refused(client: Any, query: str, variables: dict[str, Any], field: str) -> list[tuple[list[str], str]]:
    """(field, code) of the user errors of a mutation that must fail."""
    payload = client.data(query, variables)[field]
    assert payload["userErrors"], payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def enable(client: Any, settings: dict[str, Any] | None = None) -> Any:
    ok(client, ENABLE, {"input": {"name": "manufacturing", "settings": settings}}, "enablePlugin")
    return client


def disable(client: Any) -> None:
    ok(client, DISABLE, {"input": {"name": "manufacturing"}}, "disablePlugin")


def create_product(client: Any, sku: str | None = None, price: str = "10.00", currency: str = "EUR") -> str:
    sku = sku or f"P-{secrets.token_hex(3)}"
    variables = {"input": {"sku": sku, "name": f"Product {sku}", "unitPrice": price, "currency": currency}}
    return ok(client, CREATE_PRODUCT, variables, "createProduct")["product"]["id"]


def create_customer(client: Any, name: str = "Acme") -> str:
    return client.data(CREATE_CUSTOMER, {"name": name})["createCustomer"]["customer"]["id"]


def create_contact(client: Any, customer: str) -> str:
    return client.data(CREATE_CONTACT, {"c": customer})["createContact"]["contact"]["id"]


def default_warehouse(client: Any) -> str:
    edges = client.data(WAREHOUSES)["warehouses"]["edges"]
    return next(e["node"]["id"] for e in edges if e["node"]["isDefault"])


def move(client: Any, product: str, warehouse: str, kind: str, quantity: int, **extra: Any) -> dict[str, Any]:
    variables = {"input": {"productId": product, "warehouseId": warehouse, "kind": kind, "quantity": quantity, **extra}}
    return ok(client, MOVE, variables, "recordStockMovement")


def level(client: Any, product: str, warehouse: str | None = None) -> dict[str, Any]:
    flt: dict[str, Any] = {"productIds": [product]}
    if warehouse:
        flt["warehouseIds"] = [warehouse]
    edges = client.data(LEVELS, {"filter": flt})["stockLevels"]["edges"]
    assert len(edges) == 1, edges
    return edges[0]["node"]


def place(client: Any, lines: list[tuple[str, int]], customer: str | None = None, **extra: Any) -> dict[str, Any]:
    return client.data(PLACE, {"input": order_input(lines, customer, **extra)})["placeOrder"]


def order_input(lines: list[tuple[str, int]], customer: str | None = None, **extra: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"lines": [{"productId": p, "quantity": q} for p, q in lines], **extra}
    if customer is not None:
        data["customerId"] = customer
    return data


def portal_client(staff: Any, contact: str) -> tuple[Any, dict[str, Any]]:
    payload = ok(staff, PORTAL_ACCESS, {"input": {"contactId": contact}}, "createPortalAccess")
    assert payload["token"]
    return staff.as_token(payload["token"]), payload["portalAccess"]


def run_concurrently(client: Any, query: str, variables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every operation at once through the engine (one event loop, the server's thread pool)."""
    engine = client.engine

    async def main() -> list[dict[str, Any]]:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        prepared = engine.prepare(query, None, principal)

        async def one(index: int, values: dict[str, Any]) -> dict[str, Any]:
            outcome = await engine.execute(prepared, values, principal, f"concurrent-{index}")
            result: dict[str, Any] = orjson.loads(orjson.dumps(outcome.payload))
            return result

        return await asyncio.gather(*(one(i, v) for i, v in enumerate(variables)))

    return asyncio.run(main())
