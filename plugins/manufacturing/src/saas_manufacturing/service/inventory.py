"""Warehouses and the stock ledger: every change of stock is one conditional statement on its level
and one ledger row, in the caller's transaction; the level's CHECKs are the last wall.

available = on_hand - reserved. Receipts and positive adjustments add to on hand; issues and
negative adjustments take only available stock; reservations take available stock; releases
give it back; a dispatch consumes a reservation (release + issue, available unchanged).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.plugin_api import (
    Checker,
    NotFoundError,
    Page,
    Product,
    Role,
    UserErrorCode,
    keyset_page,
    notify_roles,
    publish_after_commit,
    require,
)
from saas_manufacturing import events
from saas_manufacturing.errors import MfgErrorCode, invalid
from saas_manufacturing.events import STOCK_LOW
from saas_manufacturing.models import ManualMovementKind, StockLevel, StockMovement, Warehouse
from saas_manufacturing.rules import INVENTORY_READ, INVENTORY_WRITE
from saas_manufacturing.service.common import INVENTORY_TOPIC, Actor, not_found
from saas_manufacturing.service.warehouses import get_warehouse

MAX_QUANTITY = 1_000_000_000
# On hand (and so reserved and available) never exceeds GraphQL's Int: what is stored can be read back.
MAX_STOCK = 2**31 - 1
LOW_STOCK_ROLES = (Role.OWNER, Role.ADMIN, Role.MANAGER)
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Level:
    """A stock level as a change left it."""

    product_id: uuid.UUID
    warehouse_id: uuid.UUID
    on_hand: int
    reserved: int
    low_stock_threshold: int | None

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


# -- the ledger ---------------------------------------------------------------------------------


def _level_key(actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID) -> list[Any]:
    return [
        StockLevel.tenant_id == actor.tenant_id,
        StockLevel.product_id == product_id,
        StockLevel.warehouse_id == warehouse_id,
    ]


RETURNED = (
    StockLevel.product_id,
    StockLevel.warehouse_id,
    StockLevel.on_hand,
    StockLevel.reserved,
    StockLevel.low_stock_threshold,
)


def _add_on_hand(
    session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID, quantity: int
) -> Level | None:
    """Receive stock, creating the level on first use (one upsert); None (nothing changed) when on
    hand would pass MAX_STOCK. The level's CHECK `on_hand_representable` is the last wall."""
    statement = (
        insert(StockLevel)
        .values(tenant_id=actor.tenant_id, product_id=product_id, warehouse_id=warehouse_id, on_hand=quantity)
        .on_conflict_do_update(
            index_elements=[StockLevel.tenant_id, StockLevel.product_id, StockLevel.warehouse_id],
            set_={"on_hand": StockLevel.on_hand + quantity, "updated_at": func.now()},
            where=StockLevel.on_hand + quantity <= MAX_STOCK,
        )
        .returning(*RETURNED)
    )
    row = session.execute(statement).first()
    return Level(*row) if row is not None else None


def _change(
    session: Session,
    actor: Actor,
    product_id: uuid.UUID,
    warehouse_id: uuid.UUID,
    *,
    on_hand: int = 0,
    reserved: int = 0,
) -> Level | None:
    """Apply the deltas if the result keeps 0 <= reserved <= on_hand; None (nothing changed) otherwise.

    The condition is evaluated on the row's newest version after its lock is taken, so
    concurrent changes of one level serialise and none can take stock another already took.
    """
    statement = (
        update(StockLevel)
        .where(
            *_level_key(actor, product_id, warehouse_id),
            StockLevel.reserved + reserved >= 0,
            StockLevel.on_hand + on_hand >= StockLevel.reserved + reserved,
        )
        .values(on_hand=StockLevel.on_hand + on_hand, reserved=StockLevel.reserved + reserved, updated_at=func.now())
        .returning(*RETURNED)
        .execution_options(synchronize_session=False)
    )
    row = session.execute(statement).first()
    return Level(*row) if row is not None else None


def current_level(session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID) -> Level:
    row = session.execute(select(*RETURNED).where(*_level_key(actor, product_id, warehouse_id))).first()
    return Level(*row) if row is not None else Level(product_id, warehouse_id, 0, 0, None)


def _append(session: Session, actor: Actor, level: Level, kind: str, quantity: int, **details: Any) -> StockMovement:
    movement = StockMovement(
        id=uuid.uuid4(),
        product_id=level.product_id,
        warehouse_id=level.warehouse_id,
        kind=kind,
        quantity=quantity,
        on_hand_after=level.on_hand,
        reserved_after=level.reserved,
        actor=actor.label,
        **details,
    )
    session.add(movement)
    session.flush()
    events.stock_changed(session, movement, level)
    # Published after commit, whoever made the change (a request, a job, a hook).
    publish_after_commit(
        session,
        INVENTORY_TOPIC,
        {
            "movement_id": str(movement.id),
            "product_id": str(level.product_id),
            "warehouse_id": str(level.warehouse_id),
            "kind": kind,
            "quantity": quantity,
            "on_hand": level.on_hand,
            "reserved": level.reserved,
            "order_id": str(movement.order_id) if movement.order_id else None,
            "occurred_at": movement.created_at.isoformat(),
        },
    )
    return movement


def _check_low_stock(session: Session, actor: Actor, before_available: int, level: Level) -> None:
    """Alert once, when available stock crosses below the threshold (the level's, else the tenant's).

    The notification's data is the `mfg.stock.low` event's (the stock level as the API returns
    it, and the threshold that applied) with the SKU and warehouse code of its title: clients
    read it through `notifications { data }`, in the API's shapes.
    """
    threshold = level.low_stock_threshold
    if threshold is None:
        threshold = actor.settings(session).low_stock_threshold
    if not (threshold > 0 and before_available >= threshold > level.available):
        return
    product = session.get(Product, (actor.tenant_id, level.product_id))
    warehouse = session.get(Warehouse, (actor.tenant_id, level.warehouse_id))
    sku = product.sku if product else str(level.product_id)
    code = warehouse.code if warehouse else str(level.warehouse_id)
    data = {"stockLevel": events.stock_level(level), "threshold": threshold, "sku": sku, "warehouseCode": code}
    notify_roles(
        session,
        LOW_STOCK_ROLES,
        STOCK_LOW,
        f"Low stock: {sku} at {code}",
        f"{level.available} available, below the threshold of {threshold}.",
        data,
    )
    events.stock_low(session, level, threshold)


def _insufficient(
    session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID, field: list[Any], wanted: int
) -> Exception:
    available = current_level(session, actor, product_id, warehouse_id).available
    return invalid(field, MfgErrorCode.INSUFFICIENT_STOCK, f"Only {available} available, {wanted} requested")


def _check_product(session: Session, actor: Actor, product_id: uuid.UUID, field: list[Any]) -> Product:
    product = session.get(Product, (actor.tenant_id, product_id))
    if product is None:
        raise invalid(field, UserErrorCode.NOT_FOUND, "No such product")
    return product


def _input_warehouse(session: Session, warehouse_id: uuid.UUID) -> Warehouse:
    try:
        return get_warehouse(session, warehouse_id)
    except NotFoundError:
        raise invalid(["input", "warehouseId"], UserErrorCode.NOT_FOUND, "No such warehouse") from None


def _check_movement(data: dict[str, Any]) -> dict[str, Any]:
    check = Checker(data)
    check.text("reference", max_length=200)
    check.text("note", max_length=2_000)
    clean = check.done()
    kind, quantity = data["kind"], data["quantity"]
    if kind not in tuple(ManualMovementKind):
        raise invalid(["input", "kind"], UserErrorCode.INVALID, f"kind must be one of {', '.join(ManualMovementKind)}")
    if kind == "adjustment" and quantity == 0:
        raise invalid(["input", "quantity"], UserErrorCode.INVALID, "An adjustment must not be zero")
    if kind != "adjustment" and quantity <= 0:
        raise invalid(["input", "quantity"], UserErrorCode.INVALID, "quantity must be positive")
    if abs(quantity) > MAX_QUANTITY:
        raise invalid(["input", "quantity"], UserErrorCode.INVALID, f"quantity must be at most {MAX_QUANTITY}")
    return clean


def record_movement(
    session: Session,
    actor: Actor,
    product_id: uuid.UUID,
    warehouse_id: uuid.UUID,
    data: dict[str, Any],
) -> tuple[StockMovement, Level]:
    """A receipt, issue or adjustment (signed) entered by hand; issues take available stock only."""
    require(actor.principal.permissions, INVENTORY_WRITE)
    clean = _check_movement(data)
    kind, quantity = data["kind"], data["quantity"]
    _check_product(session, actor, product_id, ["input", "productId"])
    warehouse = _input_warehouse(session, warehouse_id)
    if not warehouse.active and quantity > 0 and kind != "issue":
        raise invalid(["input", "warehouseId"], MfgErrorCode.WAREHOUSE_INACTIVE, "The warehouse is inactive")
    delta = -quantity if kind == "issue" else quantity
    if delta > 0:
        level = _add_on_hand(session, actor, product_id, warehouse_id, delta)
        if level is None:
            raise invalid(
                ["input", "quantity"],
                MfgErrorCode.STOCK_LIMIT_EXCEEDED,
                f"On hand would exceed {MAX_STOCK}; at most {MAX_STOCK} units of a product fit in one warehouse",
            )
    else:
        level = _change(session, actor, product_id, warehouse_id, on_hand=delta)
    if level is None:
        raise _insufficient(session, actor, product_id, warehouse_id, ["input", "quantity"], -delta)
    movement = _append(session, actor, level, kind, quantity, **clean)
    _check_low_stock(session, actor, level.available - delta, level)
    return movement, level


def receive_returned(
    session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID, quantity: int, reference: str
) -> StockMovement | None:
    """Returned goods back on hand as a receipt; None (nothing changed, logged) when on hand would pass
    MAX_STOCK, since a returned line must not hold back the events after it."""
    level = _add_on_hand(session, actor, product_id, warehouse_id, quantity)
    if level is None:
        logger.warning("returned stock of product %s left out: on hand would exceed %s", product_id, MAX_STOCK)
        return None
    return _append(session, actor, level, "receipt", quantity, reference=reference, note="Returned goods")


def reserve(
    session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID, quantity: int,
    order_id: uuid.UUID, field: list[Any],
) -> Level:  # fmt: skip
    """Take `quantity` of available stock for an order, or fail with INSUFFICIENT_STOCK."""
    level = _change(session, actor, product_id, warehouse_id, reserved=quantity)
    if level is None:
        raise _insufficient(session, actor, product_id, warehouse_id, field, quantity)
    _append(session, actor, level, "reservation", quantity, order_id=order_id)
    _check_low_stock(session, actor, level.available + quantity, level)
    return level


def release(
    session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID, quantity: int, order_id: uuid.UUID
) -> Level:
    """Give an order's reservation back to available stock."""
    level = _change(session, actor, product_id, warehouse_id, reserved=-quantity)
    if level is None:  # the ledger guarantees the reservation exists; this is a broken invariant
        raise RuntimeError(f"reservation of order {order_id} for product {product_id} is missing")
    _append(session, actor, level, "release", quantity, order_id=order_id)
    return level


def consume_reservation(
    session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID, quantity: int,
    order_id: uuid.UUID, shipment_id: uuid.UUID,
) -> Level:  # fmt: skip
    """Dispatch: reserved stock leaves the warehouse (a release and an issue; available is unchanged)."""
    level = _change(session, actor, product_id, warehouse_id, on_hand=-quantity, reserved=-quantity)
    if level is None:
        raise RuntimeError(f"reservation of order {order_id} for product {product_id} is missing")
    released = Level(product_id, warehouse_id, level.on_hand + quantity, level.reserved, level.low_stock_threshold)
    details = {"order_id": order_id, "shipment_id": shipment_id}
    _append(session, actor, released, "release", quantity, **details)
    _append(session, actor, level, "issue", quantity, **details)
    return level


def set_low_stock_threshold(
    session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID, threshold: int | None
) -> Level:
    """The level's own threshold (None: the tenant's `lowStockThreshold` setting applies)."""
    require(actor.principal.permissions, INVENTORY_WRITE)
    if threshold is not None and not 0 <= threshold <= MAX_QUANTITY:
        raise invalid(["input", "threshold"], UserErrorCode.INVALID, f"threshold must be 0 to {MAX_QUANTITY}")
    _check_product(session, actor, product_id, ["input", "productId"])
    _input_warehouse(session, warehouse_id)
    statement = (
        insert(StockLevel)
        .values(
            tenant_id=actor.tenant_id, product_id=product_id, warehouse_id=warehouse_id, low_stock_threshold=threshold
        )
        .on_conflict_do_update(
            index_elements=[StockLevel.tenant_id, StockLevel.product_id, StockLevel.warehouse_id],
            set_={"low_stock_threshold": threshold, "updated_at": func.now()},
        )
        .returning(*RETURNED)
    )
    level = Level(*session.execute(statement).one())
    events.threshold_changed(session, level)
    return level


# -- reads --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelFilter:
    product_ids: tuple[uuid.UUID, ...] | None = None
    warehouse_ids: tuple[uuid.UUID, ...] | None = None
    below_threshold: bool | None = None


def list_levels(session: Session, actor: Actor, flt: LevelFilter, limit: int, after: list[Any] | None) -> Page:
    require(actor.principal.permissions, INVENTORY_READ)
    query = select(StockLevel).execution_options(populate_existing=True)
    if flt.product_ids is not None:
        query = query.where(StockLevel.product_id.in_(flt.product_ids))
    if flt.warehouse_ids is not None:
        query = query.where(StockLevel.warehouse_id.in_(flt.warehouse_ids))
    if flt.below_threshold is not None:
        default = actor.settings(session).low_stock_threshold
        threshold = func.coalesce(StockLevel.low_stock_threshold, default)
        below = (StockLevel.on_hand - StockLevel.reserved) < threshold
        query = query.where(below if flt.below_threshold else ~below)
    return keyset_page(session, query, (StockLevel.product_id, StockLevel.warehouse_id), limit, after)


@dataclass(frozen=True)
class MovementFilter:
    product_id: uuid.UUID | None = None
    warehouse_id: uuid.UUID | None = None
    order_id: uuid.UUID | None = None
    kinds: tuple[str, ...] | None = None


def list_movements(session: Session, actor: Actor, flt: MovementFilter, limit: int, after: list[Any] | None) -> Page:
    """The ledger, newest first. Its order is `seq`, a sequence shared by every tenant, so a
    cursor names the movement (`[id]`) and the page continues below that movement's `seq`,
    read in the same statement: no cursor tells a tenant how busy the others are. An id
    this tenant cannot see has no `seq` here, and the page is empty."""
    require(actor.principal.permissions, INVENTORY_READ)
    after_seq = None
    if after is not None:
        after_seq = [select(StockMovement.seq).where(StockMovement.id == after[0]).scalar_subquery()]
    query = select(StockMovement)
    if flt.product_id is not None:
        query = query.where(StockMovement.product_id == flt.product_id)
    if flt.warehouse_id is not None:
        query = query.where(StockMovement.warehouse_id == flt.warehouse_id)
    if flt.order_id is not None:
        query = query.where(StockMovement.order_id == flt.order_id)
    if flt.kinds is not None:
        query = query.where(StockMovement.kind.in_(flt.kinds))
    return keyset_page(session, query, (StockMovement.seq,), limit, after_seq, descending=True)


def get_movement(session: Session, actor: Actor, movement_id: uuid.UUID) -> StockMovement:
    """One ledger row of the tenant (`mfg:inventory:read`, like the ledger), else NOT_FOUND."""
    require(actor.principal.permissions, INVENTORY_READ)
    movement = session.scalars(select(StockMovement).where(StockMovement.id == movement_id)).first()
    if movement is None:
        raise not_found("Stock movement", movement_id)
    return movement


def ledger_totals(session: Session, actor: Actor, product_id: uuid.UUID, warehouse_id: uuid.UUID) -> tuple[int, int]:
    """(on hand, reserved) summed from the ledger alone: always equal to the level's."""
    on_hand = func.sum(StockMovement.quantity * _sign(("receipt", "adjustment"), "issue"))
    reserved = func.sum(StockMovement.quantity * _sign(("reservation",), "release"))
    row = session.execute(
        select(func.coalesce(on_hand, 0), func.coalesce(reserved, 0)).where(
            StockMovement.product_id == product_id, StockMovement.warehouse_id == warehouse_id
        )
    ).one()
    return int(row[0]), int(row[1])


def _sign(positive: tuple[str, ...], negative: str) -> Any:
    return case((StockMovement.kind.in_(positive), 1), (StockMovement.kind == negative, -1), else_=0)
