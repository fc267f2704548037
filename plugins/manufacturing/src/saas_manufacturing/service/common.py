"""What every service shares: who acts (staff or a portal contact), live messages, settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from saas.plugin_api import (
    ForbiddenError,
    NotFoundError,
    PortalAccess,
    Principal,
    is_portal_principal,
    plugin_settings,
    portal_access_of,
)
from saas_manufacturing import NAME
from saas_manufacturing.settings import ManufacturingSettings

INVENTORY_TOPIC = "mfg.inventory"
SHIPMENTS_TOPIC = "mfg.shipments"

T = TypeVar("T")


@dataclass
class Actor:
    """Who performs a change: the principal, and the portal access when a contact calls."""

    principal: Principal
    portal: PortalAccess | None = None
    _settings: ManufacturingSettings | None = field(default=None, repr=False)

    @property
    def tenant_id(self) -> uuid.UUID:
        return self.principal.tenant_id

    @property
    def label(self) -> str:
        return self.principal.label[:200]

    def settings(self, session: Session) -> ManufacturingSettings:
        if self._settings is None:
            self._settings = ManufacturingSettings.model_validate(plugin_settings(session, NAME))
        return self._settings


def now() -> datetime:
    return datetime.now(UTC)


def is_portal(principal: Principal) -> bool:
    """The caller holds a core portal token (a customer's contact; `saas.plugin_api`)."""
    return is_portal_principal(principal)


# Why a portal token whose access no longer stands is refused.
PORTAL_GONE = "Portal access was revoked or has expired"


def actor_for(session: Session, principal: Principal) -> Actor:
    """The actor of a request; a portal token must still name a live access of its customer.

    The core refuses a token whose access was revoked or has expired on every use (within the
    credential cache window); reading the access here too makes an order see a revocation at once.
    """
    if not is_portal(principal):
        return Actor(principal)
    access = portal_access_of(session, principal)
    if access is None:
        raise ForbiddenError(PORTAL_GONE)
    return Actor(principal, portal=access)


def acting(work: Callable[..., T]) -> Callable[..., T]:
    """A service `work(session, actor, *args)` as the kit runs one: `(session, principal, *args)`.

    The actor is resolved inside that session (`actor_for`: a portal token must still name a live
    access), so `context.read`, `context.write` and `write_mutation` run this plugin's services as
    they run the core's. (The services publish their live messages themselves, after commit:
    `publish_after_commit`.)
    """

    def run(session: Session, principal: Principal, *args: Any) -> T:
        return work(session, actor_for(session, principal), *args)

    return run


def not_found(what: str, raw_id: uuid.UUID | None = None) -> NotFoundError:
    return NotFoundError(f"{what} not found", **({"id": str(raw_id)} if raw_id else {}))
