"""Manufacturing: warehouses, the stock ledger and levels, portal access, orders, shipments.

Revision ID: mfg_0001
Revises: (branch base; depends on the core's products table, 0002)
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mfg_0001"
down_revision = None
branch_labels = ("manufacturing",)
depends_on = "0002"

# The ledger is append-only: no UPDATE ever, no DELETE except the cascade of a deleted tenant
# (which reaches this trigger from the foreign key's own trigger, at depth > 1).
APPEND_ONLY_FUNCTION = """
CREATE OR REPLACE FUNCTION mfg_stock_movements_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'mfg_stock_movements is append-only (% refused)', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER mfg_stock_movements_append_only BEFORE UPDATE OR DELETE ON mfg_stock_movements
FOR EACH ROW EXECUTE FUNCTION mfg_stock_movements_append_only()
"""


def _id() -> sa.Column:
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _tenant() -> sa.Column:
    return sa.Column("tenant_id", sa.UUID(), nullable=False)


def _now(name: str) -> sa.Column:
    return sa.Column(name, sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False)


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _fk(
    table: str, columns: list[str], target: str, target_columns: list[str], ondelete: str
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", *columns],
        [f"{target}.tenant_id", *(f"{target}.{c}" for c in target_columns)],
        name=op.f(f"fk_{table}_tenant_id_{'_'.join(columns)}_{target}"),
        ondelete=ondelete,
    )


def _check(table: str, name: str, condition: str) -> sa.CheckConstraint:
    return sa.CheckConstraint(condition, name=op.f(f"ck_{table}_{name}"))


def upgrade() -> None:
    op.create_table(
        "mfg_warehouses",
        _tenant(),
        _id(),
        sa.Column("code", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("address", sa.Text(), nullable=True),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("is_default", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _now("created_at"),
        _now("updated_at"),
        _tenant_fk("mfg_warehouses"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_mfg_warehouses")),
    )
    op.create_index("uq_mfg_warehouses_tenant_code", "mfg_warehouses", ["tenant_id", "code"], unique=True)
    op.create_index(
        "uq_mfg_warehouses_tenant_default",
        "mfg_warehouses",
        ["tenant_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )

    op.create_table(
        "mfg_stock_levels",
        _tenant(),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("warehouse_id", sa.UUID(), nullable=False),
        sa.Column("on_hand", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reserved", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("low_stock_threshold", sa.Integer(), nullable=True),
        _now("updated_at"),
        _tenant_fk("mfg_stock_levels"),
        _fk("mfg_stock_levels", ["product_id"], "products", ["id"], "RESTRICT"),
        _fk("mfg_stock_levels", ["warehouse_id"], "mfg_warehouses", ["id"], "RESTRICT"),
        _check("mfg_stock_levels", "on_hand_not_negative", "on_hand >= 0"),
        _check("mfg_stock_levels", "reserved_not_negative", "reserved >= 0"),
        _check("mfg_stock_levels", "reserved_within_on_hand", "reserved <= on_hand"),
        _check("mfg_stock_levels", "threshold_not_negative", "low_stock_threshold IS NULL OR low_stock_threshold >= 0"),
        sa.PrimaryKeyConstraint("tenant_id", "product_id", "warehouse_id", name=op.f("pk_mfg_stock_levels")),
    )
    op.create_index(
        "ix_mfg_stock_levels_tenant_warehouse", "mfg_stock_levels", ["tenant_id", "warehouse_id", "product_id"]
    )

    op.create_table(
        "mfg_portal_access",
        _tenant(),
        _id(),
        sa.Column("contact_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        _now("created_at"),
        _tenant_fk("mfg_portal_access"),
        _fk("mfg_portal_access", ["customer_id"], "customers", ["id"], "RESTRICT"),
        _fk("mfg_portal_access", ["contact_id"], "contacts", ["id"], "RESTRICT"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_mfg_portal_access")),
    )
    op.create_index("ix_mfg_portal_access_tenant_contact", "mfg_portal_access", ["tenant_id", "contact_id"])
    op.create_index(
        "ix_mfg_portal_access_tenant_customer", "mfg_portal_access", ["tenant_id", "customer_id", "created_at", "id"]
    )

    op.create_table(
        "mfg_orders",
        _tenant(),
        _id(),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("warehouse_id", sa.UUID(), nullable=False),
        sa.Column("portal_access_id", sa.UUID(), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="placed", nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("placed_by", sa.String(length=200), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("mfg_orders"),
        _fk("mfg_orders", ["customer_id"], "customers", ["id"], "RESTRICT"),
        _fk("mfg_orders", ["warehouse_id"], "mfg_warehouses", ["id"], "RESTRICT"),
        _fk("mfg_orders", ["portal_access_id"], "mfg_portal_access", ["id"], "RESTRICT"),
        _check("mfg_orders", "status_known", "status IN ('placed', 'shipped', 'cancelled')"),
        _check("mfg_orders", "total_not_negative", "total >= 0"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_mfg_orders")),
    )
    op.create_index("ix_mfg_orders_tenant_created", "mfg_orders", ["tenant_id", "created_at", "id"])
    op.create_index("ix_mfg_orders_tenant_customer", "mfg_orders", ["tenant_id", "customer_id", "created_at", "id"])

    op.create_table(
        "mfg_order_lines",
        _tenant(),
        _id(),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=14, scale=2), nullable=False),
        sa.Column("line_total", sa.Numeric(precision=14, scale=2), nullable=False),
        _tenant_fk("mfg_order_lines"),
        _fk("mfg_order_lines", ["order_id"], "mfg_orders", ["id"], "CASCADE"),
        _fk("mfg_order_lines", ["product_id"], "products", ["id"], "RESTRICT"),
        _check("mfg_order_lines", "quantity_positive", "quantity > 0"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_mfg_order_lines")),
    )
    op.create_index(
        "uq_mfg_order_lines_tenant_order_product",
        "mfg_order_lines",
        ["tenant_id", "order_id", "product_id"],
        unique=True,
    )

    op.create_table(
        "mfg_shipments",
        _tenant(),
        _id(),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("warehouse_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("carrier", sa.String(length=50), nullable=False),
        sa.Column("tracking_number", sa.String(length=100), nullable=True),
        sa.Column("tracking_url", sa.String(length=500), nullable=True),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        _now("created_at"),
        _now("updated_at"),
        sa.Column("dispatched_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("mfg_shipments"),
        _fk("mfg_shipments", ["order_id"], "mfg_orders", ["id"], "RESTRICT"),
        _fk("mfg_shipments", ["warehouse_id"], "mfg_warehouses", ["id"], "RESTRICT"),
        _fk("mfg_shipments", ["customer_id"], "customers", ["id"], "RESTRICT"),
        _check(
            "mfg_shipments",
            "status_known",
            "status IN ('pending', 'dispatched', 'in_transit', 'delivered', 'cancelled')",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_mfg_shipments")),
    )
    op.create_index(
        "uq_mfg_shipments_tenant_order_live",
        "mfg_shipments",
        ["tenant_id", "order_id"],
        unique=True,
        postgresql_where=sa.text("status <> 'cancelled'"),
    )
    op.create_index("ix_mfg_shipments_tenant_created", "mfg_shipments", ["tenant_id", "created_at", "id"])

    op.create_table(
        "mfg_shipment_events",
        _tenant(),
        _id(),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("shipment_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("location", sa.String(length=200), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        _now("occurred_at"),
        _tenant_fk("mfg_shipment_events"),
        _fk("mfg_shipment_events", ["shipment_id"], "mfg_shipments", ["id"], "CASCADE"),
        _check(
            "mfg_shipment_events",
            "status_known",
            "status IN ('pending', 'dispatched', 'in_transit', 'delivered', 'cancelled')",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_mfg_shipment_events")),
    )
    op.create_index(
        "ix_mfg_shipment_events_tenant_shipment", "mfg_shipment_events", ["tenant_id", "shipment_id", "seq"]
    )

    op.create_table(
        "mfg_stock_movements",
        _tenant(),
        _id(),
        sa.Column("seq", sa.BigInteger(), sa.Identity(always=True), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("warehouse_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("quantity", sa.BigInteger(), nullable=False),
        sa.Column("on_hand_after", sa.BigInteger(), nullable=False),
        sa.Column("reserved_after", sa.BigInteger(), nullable=False),
        sa.Column("reference", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("order_id", sa.UUID(), nullable=True),
        sa.Column("shipment_id", sa.UUID(), nullable=True),
        sa.Column("actor", sa.String(length=200), nullable=False),
        _now("created_at"),
        _tenant_fk("mfg_stock_movements"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id", "warehouse_id"],
            ["mfg_stock_levels.tenant_id", "mfg_stock_levels.product_id", "mfg_stock_levels.warehouse_id"],
            name=op.f("fk_mfg_stock_movements_tenant_id_product_id_warehouse_id_mfg_stock_levels"),
            ondelete="RESTRICT",
        ),
        _fk("mfg_stock_movements", ["order_id"], "mfg_orders", ["id"], "RESTRICT"),
        _fk("mfg_stock_movements", ["shipment_id"], "mfg_shipments", ["id"], "RESTRICT"),
        _check(
            "mfg_stock_movements",
            "kind_known",
            "kind IN ('receipt', 'issue', 'adjustment', 'reservation', 'release')",
        ),
        _check("mfg_stock_movements", "quantity_sign", "quantity > 0 OR (kind = 'adjustment' AND quantity <> 0)"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_mfg_stock_movements")),
    )
    op.create_index("ix_mfg_stock_movements_tenant_seq", "mfg_stock_movements", ["tenant_id", "seq"])
    op.create_index(
        "ix_mfg_stock_movements_tenant_product",
        "mfg_stock_movements",
        ["tenant_id", "product_id", "warehouse_id", "seq"],
    )
    op.create_index("ix_mfg_stock_movements_tenant_order", "mfg_stock_movements", ["tenant_id", "order_id"])
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS mfg_stock_movements_append_only ON mfg_stock_movements")
    op.execute("DROP FUNCTION IF EXISTS mfg_stock_movements_append_only()")
    for table in (
        "mfg_stock_movements",
        "mfg_shipment_events",
        "mfg_shipments",
        "mfg_order_lines",
        "mfg_orders",
        "mfg_portal_access",
        "mfg_stock_levels",
        "mfg_warehouses",
    ):
        op.drop_table(table)
