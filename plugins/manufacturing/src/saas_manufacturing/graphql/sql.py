"""How the plugin's types map to SQL for the compiled reads (one statement per list).

Decimals are written as JSON strings (`numeric::text`, as the `Decimal` scalar serialises them),
enums as their GraphQL names (`upper(value)`), date-times in the API's form. An order line's
`product` (a core type) is not mapped: a selection of it goes through the resolvers and loaders.
"""

from __future__ import annotations

from saas.plugin_api import Relation, SortKey, SqlType, global_id_sql, iso_datetime_sql


def _decimal(column: str) -> str:
    return f"({column})::text"


WAREHOUSE = SqlType(
    name="MfgWarehouse",
    table="mfg_warehouses",
    columns={
        "id": global_id_sql("MfgWarehouse", "{t}.id"),
        "code": "{t}.code",
        "name": "{t}.name",
        "address": "{t}.address",
        "active": "{t}.active",
        "isDefault": "{t}.is_default",
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
    },
)
# By code, as `list_warehouses` pages them.
WAREHOUSE_SORT = SortKey(("code", "id"), ("text", "uuid"), descending=False)

ORDER_LINE = SqlType(
    name="MfgOrderLine",
    table="mfg_order_lines",
    columns={
        "productId": global_id_sql("Product", "{t}.product_id"),
        "quantity": "{t}.quantity",
        "unitPrice": _decimal("{t}.unit_price"),
        "lineTotal": _decimal("{t}.line_total"),
    },
    interfaces=frozenset(),
)

ORDER = SqlType(
    name="MfgOrder",
    table="mfg_orders",
    columns={
        "id": global_id_sql("MfgOrder", "{t}.id"),
        "customerId": global_id_sql("Customer", "{t}.customer_id"),
        "warehouseId": global_id_sql("MfgWarehouse", "{t}.warehouse_id"),
        "status": "upper({t}.status)",
        "currency": "{t}.currency",
        "total": _decimal("{t}.total"),
        "note": "{t}.note",
        "placedBy": "{t}.placed_by",
        "placedThroughPortal": "({t}.portal_access_id IS NOT NULL)",
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
        "cancelledAt": iso_datetime_sql("{t}.cancelled_at"),
    },
    relations={
        "lines": Relation(lambda: ORDER_LINE, "mfg_order_lines", "{t}.order_id = {p}.id", order="{t}.position"),
        "warehouse": Relation(lambda: WAREHOUSE, "mfg_warehouses", "{t}.id = {p}.warehouse_id"),
    },
)
# Newest first, as `list_orders` pages them.
ORDER_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)

SHIPMENT_EVENT = SqlType(
    name="MfgShipmentEvent",
    table="mfg_shipment_events",
    columns={
        "status": "upper({t}.status)",
        "description": "{t}.description",
        "location": "{t}.location",
        "actor": "{t}.actor",
        "occurredAt": iso_datetime_sql("{t}.occurred_at"),
    },
    interfaces=frozenset(),
)

SHIPMENT = SqlType(
    name="MfgShipment",
    table="mfg_shipments",
    columns={
        "id": global_id_sql("MfgShipment", "{t}.id"),
        "orderId": global_id_sql("MfgOrder", "{t}.order_id"),
        "warehouseId": global_id_sql("MfgWarehouse", "{t}.warehouse_id"),
        "customerId": global_id_sql("Customer", "{t}.customer_id"),
        "carrier": "{t}.carrier",
        "trackingNumber": "{t}.tracking_number",
        "trackingUrl": "{t}.tracking_url",
        "status": "upper({t}.status)",
        "version": "{t}.version",
        "createdAt": iso_datetime_sql("{t}.created_at"),
        "updatedAt": iso_datetime_sql("{t}.updated_at"),
        "dispatchedAt": iso_datetime_sql("{t}.dispatched_at"),
        "deliveredAt": iso_datetime_sql("{t}.delivered_at"),
    },
    relations={
        # Oldest first, as `shipment_events` reads them.
        "events": Relation(lambda: SHIPMENT_EVENT, "mfg_shipment_events", "{t}.shipment_id = {p}.id", order="{t}.seq"),
    },
)
# Newest first, as `list_shipments` pages them.
SHIPMENT_SORT = SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True)

STOCK_LEVEL = SqlType(
    name="MfgStockLevel",
    table="mfg_stock_levels",
    columns={
        "productId": global_id_sql("Product", "{t}.product_id"),
        "warehouseId": global_id_sql("MfgWarehouse", "{t}.warehouse_id"),
        "onHand": "{t}.on_hand",
        "reserved": "{t}.reserved",
        "available": "({t}.on_hand - {t}.reserved)",
        "lowStockThreshold": "{t}.low_stock_threshold",
    },
    relations={
        "warehouse": Relation(lambda: WAREHOUSE, "mfg_warehouses", "{t}.id = {p}.warehouse_id"),
    },
    interfaces=frozenset(),
)
# By product, then warehouse, as `list_levels` pages them. A level has no `id`: a selection that
# does not compile (its `product`) goes through `list_levels` itself.
STOCK_LEVEL_SORT = SortKey(("product_id", "warehouse_id"), ("uuid", "uuid"), descending=False)

# The level's own threshold, else the tenant's `lowStockThreshold` setting (0 when never set), as
# `list_levels` compares available stock with it.
LEVEL_THRESHOLD = (
    "COALESCE(r.low_stock_threshold, (SELECT (tp.settings ->> 'lowStockThreshold')::int FROM tenant_plugins tp"
    " WHERE tp.tenant_id = r.tenant_id AND tp.name = :plugin_name), 0)"
)

STOCK_MOVEMENT = SqlType(
    name="MfgStockMovement",
    table="mfg_stock_movements",
    columns={
        "id": global_id_sql("MfgStockMovement", "{t}.id"),
        "kind": "upper({t}.kind)",
        "quantity": "{t}.quantity",
        "onHandAfter": "{t}.on_hand_after",
        "reservedAfter": "{t}.reserved_after",
        "reference": "{t}.reference",
        "note": "{t}.note",
        "productId": global_id_sql("Product", "{t}.product_id"),
        "warehouseId": global_id_sql("MfgWarehouse", "{t}.warehouse_id"),
        "orderId": f"CASE WHEN {{t}}.order_id IS NULL THEN NULL ELSE {global_id_sql('MfgOrder', '{t}.order_id')} END",
        "shipmentId": (
            f"CASE WHEN {{t}}.shipment_id IS NULL THEN NULL ELSE {global_id_sql('MfgShipment', '{t}.shipment_id')} END"
        ),
        "actor": "{t}.actor",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)
# The ledger's order, newest first: `seq`, a sequence every tenant shares, so the cursor names the
# movement (`[id]`) and the page continues below its `seq`, as `list_movements` pages them.
STOCK_MOVEMENT_SORT = SortKey(("seq",), ("bigint",), descending=True, cursor_table="mfg_stock_movements")
