"""What every service shares: who acts (staff or a portal contact), live messages, settings."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from sqlalchemy.orm import Session

from saas.plugin_api import ForbiddenError, NotFoundError, Principal, plugin_settings, require
from saas_manufacturing import NAME
from saas_manufacturing.models import PortalAccess
from saas_manufacturing.rules import PORTAL
from saas_manufacturing.settings import ManufacturingSettings

INVENTORY_TOPIC = "mfg.inventory"
SHIPMENTS_TOPIC = "mfg.shipments"
# The scope key of portal tokens naming their access record (the core honours `customer_id`).
PORTAL_SCOPE = "mfg_portal_access"

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
    return principal.scoped(PORTAL_SCOPE) is not None


def live_access(session: Session, principal: Principal) -> PortalAccess | None:
    """The portal access a portal token names, if it still stands: not revoked, not expired,
    of the token's customer. The one rule for both checks: the core's on every use of the
    token (`saas_check_scoped_token`), and `actor_for`'s on every portal request."""
    try:
        access_id = uuid.UUID(principal.scoped(PORTAL_SCOPE) or "")
    except ValueError:
        return None
    access = session.get(PortalAccess, (principal.tenant_id, access_id))
    if (
        access is None
        or access.revoked_at is not None
        or access.expires_at <= now()
        or str(access.customer_id) != principal.scoped("customer_id")
    ):
        return None
    return access


def actor_for(session: Session, principal: Principal) -> Actor:
    """The actor of a request; a portal token must still name a live access of its customer."""
    if not is_portal(principal):
        return Actor(principal)
    require(principal.permissions, PORTAL)
    access = live_access(session, principal)
    if access is None:
        raise ForbiddenError("Portal access was revoked or has expired")
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
