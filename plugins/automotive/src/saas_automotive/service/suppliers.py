"""Suppliers, their parts, and the API keys that stand for a supplier.

A supplier's endpoint secret is made here, shown once and kept sealed (`seal_secret`). A supplier
key is a core API key with the one scope `auto:supplier`, bound to its supplier in
`auto_supplier_keys`: the core checks the key on every use (revoked with `revokeApiKey`), this
plugin limits it to its supplier's call-offs (`common.actor_for`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.plugin_api import Checker, UserErrorCode, create_api_key
from saas_automotive import channels, events
from saas_automotive.errors import AutoErrorCode, invalid
from saas_automotive.models import Part, Supplier, SupplierKey
from saas_automotive.rules import SUPPLIER, SUPPLY_READ, SUPPLY_WRITE
from saas_automotive.service.common import Actor, flush_unique, not_found

MAX_JIT_WINDOW_MINUTES = 7 * 24 * 60
MAX_LEAD_TIME_HOURS = 365 * 24


def _check_url(check: Checker, value: Any) -> None:
    if value is None:
        return
    if not isinstance(value, str) or len(value) > 500 or not value.startswith(("https://", "http://")) or "@" in value:
        check.fail(
            "endpoint_url", UserErrorCode.INVALID, "endpointUrl must be an absolute http(s) URL without credentials"
        )


def _check_int(check: Checker, data: dict[str, Any], name: str, maximum: int) -> None:
    value = data.get(name)
    if value is None:
        check.fail(name, UserErrorCode.REQUIRED, f"{name} is required")
    elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= maximum:
        check.fail(name, UserErrorCode.OUT_OF_RANGE, f"{name} must be between 0 and {maximum}")


def create_supplier(
    session: Session, actor: Actor, data: dict[str, Any], seal: Callable[[str], str]
) -> tuple[Supplier, str | None]:
    """A supplier; with an endpoint, also its signing secret (returned once, stored sealed)."""
    actor.staff(SUPPLY_WRITE)
    check = Checker(data)
    check.text("code", required=True, max_length=32)
    check.text("name", required=True, max_length=200)
    check.text("channel", max_length=50)
    _check_url(check, data.get("endpoint_url"))
    _check_int(check, data, "jit_window_minutes", MAX_JIT_WINDOW_MINUTES)
    clean = check.done()
    channel = clean.get("channel") or channels.WebhookChannel.code
    if channel not in channels.registry():
        raise invalid(["input", "channel"], AutoErrorCode.UNKNOWN_CHANNEL, f"Unknown supplier channel {channel!r}")
    code = clean["code"].upper()
    if session.scalar(select(Supplier.id).where(Supplier.code == code)) is not None:
        raise invalid(["input", "code"], UserErrorCode.TAKEN, "A supplier with this code exists")
    secret = secrets.token_urlsafe(32) if data.get("endpoint_url") else None
    supplier = Supplier(
        id=uuid.uuid4(),
        code=code,
        name=clean["name"],
        endpoint_url=data.get("endpoint_url"),
        channel=channel,
        secret_sealed=seal(secret) if secret else None,
        jit_window_minutes=data["jit_window_minutes"],
    )
    session.add(supplier)
    flush_unique(session, ["input", "code"], "A supplier with this code exists")
    session.refresh(supplier)
    events.supplier_created(session, supplier)
    return supplier, secret


def get_supplier(session: Session, actor: Actor, supplier_id: uuid.UUID) -> Supplier:
    """A supplier of the tenant (a supplier key: only its own), else NOT_FOUND."""
    if actor.is_supplier:
        if supplier_id != actor.supplier_id:
            raise not_found("Supplier", supplier_id)
    else:
        actor.staff(SUPPLY_READ)
    supplier = session.scalars(select(Supplier).where(Supplier.id == supplier_id)).first()
    if supplier is None:
        raise not_found("Supplier", supplier_id)
    return supplier


def list_suppliers(session: Session, actor: Actor) -> list[Supplier]:
    query = select(Supplier).order_by(Supplier.code, Supplier.id)
    if actor.is_supplier:
        query = query.where(Supplier.id == actor.supplier_id)
    else:
        actor.staff(SUPPLY_READ)
    return list(session.scalars(query))


def suppliers_by_id(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Supplier]:
    return {row.id: row for row in session.scalars(select(Supplier).where(Supplier.id.in_(ids)))}


def _referenced_supplier(session: Session, actor: Actor, supplier_id: uuid.UUID) -> Supplier:
    supplier = session.scalars(select(Supplier).where(Supplier.id == supplier_id)).first()
    if supplier is None:
        raise invalid(["input", "supplierId"], UserErrorCode.NOT_FOUND, "No such supplier")
    return supplier


def create_part(session: Session, actor: Actor, supplier_id: uuid.UUID, data: dict[str, Any]) -> Part:
    actor.staff(SUPPLY_WRITE)
    check = Checker(data)
    check.text("part_number", required=True, max_length=64)
    check.text("name", required=True, max_length=200)
    _check_int(check, data, "lead_time_hours", MAX_LEAD_TIME_HOURS)
    clean = check.done()
    supplier = _referenced_supplier(session, actor, supplier_id)
    if session.scalar(select(Part.id).where(Part.part_number == clean["part_number"])) is not None:
        raise invalid(["input", "partNumber"], UserErrorCode.TAKEN, "A part with this number exists")
    part = Part(
        id=uuid.uuid4(),
        supplier_id=supplier.id,
        part_number=clean["part_number"],
        name=clean["name"],
        lead_time_hours=data["lead_time_hours"],
    )
    session.add(part)
    flush_unique(session, ["input", "partNumber"], "A part with this number exists")
    session.refresh(part)
    events.part_created(session, part)
    return part


def get_part(session: Session, actor: Actor, part_id: uuid.UUID) -> Part:
    actor.staff(SUPPLY_READ)
    part = session.scalars(select(Part).where(Part.id == part_id)).first()
    if part is None:
        raise not_found("Part", part_id)
    return part


def parts_by_id(session: Session, ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Part]:
    return {row.id: row for row in session.scalars(select(Part).where(Part.id.in_(ids)))}


def create_supplier_key(
    session: Session, actor: Actor, supplier_id: uuid.UUID, name: Any
) -> tuple[Supplier, uuid.UUID, str]:
    """A core API key with the scope `auto:supplier` bound to the supplier; the key is returned once."""
    actor.staff(SUPPLY_WRITE)
    check = Checker({"name": name})
    check.text("name", required=True, max_length=100)
    clean = check.done()
    supplier = _referenced_supplier(session, actor, supplier_id)
    key_id, full_key = create_api_key(session, actor.principal, name=clean["name"], scopes=[SUPPLIER])
    session.add(SupplierKey(api_key_id=key_id, supplier_id=supplier.id))
    session.flush()
    events.supplier_key_created(session, supplier, key_id)
    return supplier, key_id, full_key
