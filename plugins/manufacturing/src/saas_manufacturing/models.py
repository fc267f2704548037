"""The plugin's tables: warehouses, the stock ledger and levels, orders, shipments.

Every table leads with `tenant_id`; every foreign key is composite with it, so no row can point
into another tenant. Stock levels are maintained in the transaction that appends each ledger row;
their CHECK constraints are the last wall against overselling.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Identity,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import UUID
from sqlalchemy.orm import Mapped, mapped_column

from saas.plugin_api import TenantModel, created_at_column, uuid_pk


class MovementKind(StrEnum):
    """What a stock movement did; stored as the value (`mfg_stock_movements.kind`)."""

    RECEIPT = "receipt"
    ISSUE = "issue"
    ADJUSTMENT = "adjustment"
    RESERVATION = "reservation"
    RELEASE = "release"


class ManualMovementKind(StrEnum):
    """The movement kinds a person may record by hand (reservations and releases follow orders)."""

    RECEIPT = MovementKind.RECEIPT.value
    ISSUE = MovementKind.ISSUE.value
    ADJUSTMENT = MovementKind.ADJUSTMENT.value


class OrderStatus(StrEnum):
    """Where an order stands; stored as the value (`mfg_orders.status`)."""

    PLACED = "placed"
    SHIPPED = "shipped"
    CANCELLED = "cancelled"


class ShipmentStatus(StrEnum):
    """Where a shipment stands; stored as the value, also in its tracking events."""

    PENDING = "pending"
    DISPATCHED = "dispatched"
    IN_TRANSIT = "in_transit"
    DELIVERED = "delivered"
    CANCELLED = "cancelled"


def _tenant_fk() -> ForeignKeyConstraint:
    return ForeignKeyConstraint(["tenant_id"], ["tenants.id"], ondelete="CASCADE")


def _in(column: str, values: type[StrEnum]) -> str:
    return f"{column} IN ({', '.join(repr(v.value) for v in values)})"


def _updated_at_column() -> Mapped[datetime]:
    return mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())


class Warehouse(TenantModel):
    __tablename__ = "mfg_warehouses"
    __table_args__ = (
        _tenant_fk(),
        Index("uq_mfg_warehouses_tenant_code", "tenant_id", "code", unique=True),
        # At most one default warehouse per tenant (the one orders use when none is named).
        Index("uq_mfg_warehouses_tenant_default", "tenant_id", unique=True, postgresql_where=text("is_default")),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    code: Mapped[str] = mapped_column(String(32), nullable=False)
    name: Mapped[str] = mapped_column(String(200), nullable=False)
    address: Mapped[str | None] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("true"))
    is_default: Mapped[bool] = mapped_column(Boolean, nullable=False, server_default=text("false"))
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at_column()

    __mapper_args__ = {"version_id_col": version}


class StockLevel(TenantModel):
    """On hand and reserved per product and warehouse; available = on_hand - reserved."""

    __tablename__ = "mfg_stock_levels"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"], ondelete="RESTRICT"),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["mfg_warehouses.tenant_id", "mfg_warehouses.id"], ondelete="RESTRICT"
        ),
        CheckConstraint("on_hand >= 0", name="on_hand_not_negative"),
        # GraphQL's Int: stock that could not be read back is never stored (see inventory.MAX_STOCK).
        CheckConstraint("on_hand <= 2147483647", name="on_hand_representable"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
        CheckConstraint("reserved <= on_hand", name="reserved_within_on_hand"),
        CheckConstraint("low_stock_threshold IS NULL OR low_stock_threshold >= 0", name="threshold_not_negative"),
        Index("ix_mfg_stock_levels_tenant_warehouse", "tenant_id", "warehouse_id", "product_id"),
    )

    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    warehouse_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    on_hand: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    reserved: Mapped[int] = mapped_column(BigInteger, nullable=False, server_default="0")
    low_stock_threshold: Mapped[int | None] = mapped_column(Integer)
    updated_at: Mapped[datetime] = _updated_at_column()


class StockMovement(TenantModel):
    """One row of the append-only ledger (a trigger refuses UPDATE and direct DELETE)."""

    __tablename__ = "mfg_stock_movements"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "product_id", "warehouse_id"],
            ["mfg_stock_levels.tenant_id", "mfg_stock_levels.product_id", "mfg_stock_levels.warehouse_id"],
            ondelete="RESTRICT",
        ),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["mfg_orders.tenant_id", "mfg_orders.id"], ondelete="RESTRICT"),
        ForeignKeyConstraint(
            ["tenant_id", "shipment_id"], ["mfg_shipments.tenant_id", "mfg_shipments.id"], ondelete="RESTRICT"
        ),
        CheckConstraint(_in("kind", MovementKind), name="kind_known"),
        CheckConstraint("quantity > 0 OR (kind = 'adjustment' AND quantity <> 0)", name="quantity_sign"),
        Index("ix_mfg_stock_movements_tenant_seq", "tenant_id", "seq"),
        Index("ix_mfg_stock_movements_tenant_product", "tenant_id", "product_id", "warehouse_id", "seq"),
        Index("ix_mfg_stock_movements_tenant_order", "tenant_id", "order_id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    # Ledger order: a database sequence, so rows of one transaction keep the order they were written in.
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    warehouse_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    kind: Mapped[str] = mapped_column(String(16), nullable=False)
    quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    on_hand_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reserved_after: Mapped[int] = mapped_column(BigInteger, nullable=False)
    reference: Mapped[str | None] = mapped_column(String(200))
    note: Mapped[str | None] = mapped_column(Text)
    order_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    shipment_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    created_at: Mapped[datetime] = created_at_column()

    __mapper_args__ = {"eager_defaults": True}


class Order(TenantModel):
    __tablename__ = "mfg_orders"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["mfg_warehouses.tenant_id", "mfg_warehouses.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "portal_access_id"],
            ["portal_accesses.tenant_id", "portal_accesses.id"],
            ondelete="RESTRICT",
        ),
        CheckConstraint(_in("status", OrderStatus), name="status_known"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        Index("ix_mfg_orders_tenant_created", "tenant_id", "created_at", "id"),
        Index("ix_mfg_orders_tenant_customer", "tenant_id", "customer_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    warehouse_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    portal_access_id: Mapped[uuid.UUID | None] = mapped_column(UUID(as_uuid=True))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="placed")
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    total: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(200), nullable=False)
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at_column()
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}


class OrderLine(TenantModel):
    __tablename__ = "mfg_order_lines"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["mfg_orders.tenant_id", "mfg_orders.id"], ondelete="CASCADE"),
        ForeignKeyConstraint(["tenant_id", "product_id"], ["products.tenant_id", "products.id"], ondelete="RESTRICT"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
        Index("uq_mfg_order_lines_tenant_order_product", "tenant_id", "order_id", "product_id", unique=True),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    position: Mapped[int] = mapped_column(Integer, nullable=False)
    product_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    quantity: Mapped[int] = mapped_column(BigInteger, nullable=False)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)
    line_total: Mapped[Decimal] = mapped_column(Numeric(14, 2), nullable=False)


class Shipment(TenantModel):
    __tablename__ = "mfg_shipments"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(["tenant_id", "order_id"], ["mfg_orders.tenant_id", "mfg_orders.id"], ondelete="RESTRICT"),
        ForeignKeyConstraint(
            ["tenant_id", "warehouse_id"], ["mfg_warehouses.tenant_id", "mfg_warehouses.id"], ondelete="RESTRICT"
        ),
        ForeignKeyConstraint(
            ["tenant_id", "customer_id"], ["customers.tenant_id", "customers.id"], ondelete="RESTRICT"
        ),
        CheckConstraint(_in("status", ShipmentStatus), name="status_known"),
        # One live shipment per order (a cancelled one may be replaced).
        Index(
            "uq_mfg_shipments_tenant_order_live",
            "tenant_id",
            "order_id",
            unique=True,
            postgresql_where=text("status <> 'cancelled'"),
        ),
        Index("ix_mfg_shipments_tenant_created", "tenant_id", "created_at", "id"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    order_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    warehouse_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    customer_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    carrier: Mapped[str] = mapped_column(String(50), nullable=False)
    tracking_number: Mapped[str | None] = mapped_column(String(100))
    tracking_url: Mapped[str | None] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), nullable=False, server_default="pending")
    version: Mapped[int] = mapped_column(Integer, nullable=False, server_default="1")
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = _updated_at_column()
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __mapper_args__ = {"version_id_col": version}


class ShipmentEvent(TenantModel):
    __tablename__ = "mfg_shipment_events"
    __table_args__ = (
        _tenant_fk(),
        ForeignKeyConstraint(
            ["tenant_id", "shipment_id"], ["mfg_shipments.tenant_id", "mfg_shipments.id"], ondelete="CASCADE"
        ),
        CheckConstraint(_in("status", ShipmentStatus), name="status_known"),
        Index("ix_mfg_shipment_events_tenant_shipment", "tenant_id", "shipment_id", "seq"),
    )

    id: Mapped[uuid.UUID] = uuid_pk()
    seq: Mapped[int] = mapped_column(BigInteger, Identity(always=True), nullable=False)
    shipment_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), nullable=False)
    status: Mapped[str] = mapped_column(String(16), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    location: Mapped[str | None] = mapped_column(String(200))
    actor: Mapped[str] = mapped_column(String(200), nullable=False)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), nullable=False, server_default=func.now())

    __mapper_args__ = {"eager_defaults": True}


class HandledEvent(TenantModel):
    """A core event this plugin has acted on, by id: the dispatcher delivers at least once, so a
    handler with an effect (putting returned goods back in stock) claims the event here first, in
    the same transaction as the effect, and does nothing for an id it finds claimed."""

    __tablename__ = "mfg_handled_events"
    __table_args__ = (_tenant_fk(),)

    event_id: Mapped[uuid.UUID] = mapped_column(UUID(as_uuid=True), primary_key=True)
    event_type: Mapped[str] = mapped_column(String(100), nullable=False)
    handled_at: Mapped[datetime] = created_at_column()
