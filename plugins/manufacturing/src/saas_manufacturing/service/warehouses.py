"""Warehouses: where stock is held; one of them is the tenant's default (orders that name none go there)."""

from __future__ import annotations

import re
import uuid
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.plugin_api import Checker, ConflictError, Page, UserErrorCode, keyset_page, record_change, require, snapshot
from saas_manufacturing import events
from saas_manufacturing.errors import invalid
from saas_manufacturing.models import Warehouse
from saas_manufacturing.rules import INVENTORY_READ, INVENTORY_WRITE
from saas_manufacturing.service.common import Actor, not_found, now

WAREHOUSE_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")


def get_warehouse(session: Session, warehouse_id: uuid.UUID) -> Warehouse:
    warehouse = session.scalars(select(Warehouse).where(Warehouse.id == warehouse_id)).first()
    if warehouse is None:
        raise not_found("Warehouse", warehouse_id)
    return warehouse


def find_warehouse(session: Session, actor: Actor, warehouse_id: uuid.UUID) -> Warehouse:
    require(actor.principal.permissions, INVENTORY_READ)
    return get_warehouse(session, warehouse_id)


def default_warehouse(session: Session) -> Warehouse | None:
    return session.scalars(select(Warehouse).where(Warehouse.is_default.is_(True))).first()


def _check_warehouse(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    check = Checker(data)
    check.text("code", required=creating or "code" in data, max_length=32)
    code = check.clean.get("code")
    if code is not None and not WAREHOUSE_CODE.match(code):
        check.clean.pop("code")
        check.fail("code", UserErrorCode.INVALID, "code may contain letters, digits and . _ - only")
    check.text("name", required=creating or "name" in data, max_length=200)
    check.text("address", max_length=2_000)
    for flag in ("active", "is_default"):
        if data.get(flag) is not None:
            check.clean[flag] = bool(data[flag])
    return check.done()


def _make_default(session: Session, actor: Actor, warehouse: Warehouse) -> None:
    """The current default warehouse stops being the default: an update of it, recorded as one."""
    others = session.scalars(select(Warehouse).where(Warehouse.is_default.is_(True), Warehouse.id != warehouse.id))
    for other in others.all():
        before = snapshot(other)
        other.is_default, other.updated_at = False, now()
        _flush(session)
        _record(session, actor, events.WAREHOUSE_UPDATED, other, before)


def _flush(session: Session) -> None:
    try:
        session.flush()
    except StaleDataError as exc:
        raise ConflictError() from exc


def _record(session: Session, actor: Actor, action: str, warehouse: Warehouse, before: dict[str, Any] | None) -> None:
    """The audit entry and the domain event of a change; `action` names both."""
    record_change(session, actor.principal, action, "MfgWarehouse", warehouse.id, before, snapshot(warehouse))
    events.warehouse_changed(session, action, warehouse)


def create_warehouse(session: Session, actor: Actor, data: dict[str, Any]) -> Warehouse:
    require(actor.principal.permissions, INVENTORY_WRITE)
    clean = _check_warehouse(data, creating=True)
    if session.scalar(select(Warehouse.id).where(Warehouse.code == clean["code"])) is not None:
        raise invalid(["input", "code"], UserErrorCode.TAKEN, "Another warehouse has this code")
    if default_warehouse(session) is None:
        clean["is_default"] = True  # the first warehouse is where orders go unless told otherwise
    warehouse = Warehouse(id=uuid.uuid4(), **clean)
    if warehouse.is_default:
        _make_default(session, actor, warehouse)
    session.add(warehouse)
    session.flush()
    session.refresh(warehouse)
    _record(session, actor, events.WAREHOUSE_CREATED, warehouse, None)
    return warehouse


def update_warehouse(
    session: Session, actor: Actor, warehouse_id: uuid.UUID, version: int, data: dict[str, Any]
) -> Warehouse:
    require(actor.principal.permissions, INVENTORY_WRITE)
    clean = _check_warehouse(data, creating=False)
    warehouse = get_warehouse(session, warehouse_id)
    if warehouse.version != version:
        raise ConflictError(current_version=warehouse.version)
    if "code" in clean and session.scalar(
        select(Warehouse.id).where(Warehouse.code == clean["code"], Warehouse.id != warehouse.id)
    ):
        raise invalid(["input", "code"], UserErrorCode.TAKEN, "Another warehouse has this code")
    if clean.get("is_default") is False and warehouse.is_default:
        raise invalid(["input", "isDefault"], UserErrorCode.INVALID, "Make another warehouse the default instead")
    before = snapshot(warehouse)
    if clean.get("is_default"):
        _make_default(session, actor, warehouse)
    for key, value in clean.items():
        setattr(warehouse, key, value)
    warehouse.updated_at = now()
    _flush(session)
    _record(session, actor, events.WAREHOUSE_UPDATED, warehouse, before)
    return warehouse


def ensure_default_warehouse(session: Session, name: str) -> Warehouse:
    """The tenant's default warehouse, created (code MAIN) when the tenant has none: idempotent."""
    existing = default_warehouse(session)
    if existing is not None:
        return existing
    any_warehouse = session.scalars(select(Warehouse).order_by(Warehouse.created_at, Warehouse.id)).first()
    if any_warehouse is not None:
        any_warehouse.is_default, any_warehouse.updated_at = True, now()
        session.flush()
        events.warehouse_changed(session, events.WAREHOUSE_UPDATED, any_warehouse)
        return any_warehouse
    warehouse = Warehouse(id=uuid.uuid4(), code="MAIN", name=name, is_default=True)
    session.add(warehouse)
    session.flush()
    events.warehouse_changed(session, events.WAREHOUSE_CREATED, warehouse)
    return warehouse


def list_warehouses(session: Session, actor: Actor, active: bool | None, limit: int, after: list[Any] | None) -> Page:
    require(actor.principal.permissions, INVENTORY_READ)
    query = select(Warehouse)
    if active is not None:
        query = query.where(Warehouse.active.is_(active))
    return keyset_page(session, query, (Warehouse.code, Warehouse.id), limit, after)
