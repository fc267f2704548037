"""What every service shares: who acts (staff or a supplier's API key), the clock, settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.plugin_api import ForbiddenError, NotFoundError, Principal, UserErrorCode, plugin_settings, require
from saas_automotive import NAME
from saas_automotive.errors import invalid
from saas_automotive.models import SupplierKey
from saas_automotive.rules import SUPPLIER
from saas_automotive.settings import AutomotiveSettings

FREIGHT_TOPIC = "auto.freight"

T = TypeVar("T")


@dataclass
class Actor:
    """Who performs a change: the principal, and the supplier when a supplier's API key calls."""

    principal: Principal
    supplier_id: uuid.UUID | None = None
    _settings: AutomotiveSettings | None = field(default=None, repr=False)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id

    @property
    def label(self) -> str:
        return self.principal.label[:200]

    @property
    def is_supplier(self) -> bool:
        return self.supplier_id is not None

    def settings(self, session: Session) -> AutomotiveSettings:
        if self._settings is None:
            self._settings = AutomotiveSettings.model_validate(plugin_settings(session, NAME))
        return self._settings

    def staff(self, permission: str) -> None:
        """Staff only (a supplier's key is refused), holding `permission`."""
        if self.is_supplier:
            raise ForbiddenError("Not available to supplier keys")
        require(self.principal.permissions, permission)


def now() -> datetime:
    return datetime.now(UTC)


def is_supplier_key(principal: Principal) -> bool:
    """A key holding the supplier scope stands for a supplier (`createSupplierApiKey`), whatever else it holds."""
    return principal.api_key_id is not None and SUPPLIER in principal.permissions


def supplier_of(session: Session, principal: Principal) -> uuid.UUID | None:
    """The supplier a supplier key stands for (None for any other credential, or a key bound to none).

    The binding is read on every request, and the key itself is checked by the core on every
    use (revoked: refused everywhere), so a key sees exactly its own supplier's call-offs."""
    if not is_supplier_key(principal):
        return None
    return session.scalar(select(SupplierKey.supplier_id).where(SupplierKey.api_key_id == principal.api_key_id))


def actor_for(session: Session, principal: Principal) -> Actor:
    """The actor of a request: staff, or the supplier a supplier key stands for (FORBIDDEN when none)."""
    if not is_supplier_key(principal):
        return Actor(principal)
    supplier = supplier_of(session, principal)
    if supplier is None:
        raise ForbiddenError("This key stands for no supplier")
    return Actor(principal, supplier_id=supplier)


def acting(work: Callable[..., T]) -> Callable[..., T]:
    """A service `work(session, actor, *args)` as the kit runs one: `(session, principal, *args)`."""

    def run(session: Session, principal: Principal, *args: Any) -> T:
        return work(session, actor_for(session, principal), *args)

    return run


def not_found(what: str, raw_id: uuid.UUID | None = None) -> NotFoundError:
    return NotFoundError(f"{what} not found", **({"id": str(raw_id)} if raw_id else {}))


def flush_unique(session: Session, field: list[str | int], message: str) -> None:
    """Flush; a unique violation (also one a concurrent transaction just committed) is TAKEN on `field`."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if getattr(exc.orig, "pgcode", None) == "23505":
            raise invalid(field, UserErrorCode.TAKEN, message) from None
        raise
