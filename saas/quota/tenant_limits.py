"""Each tenant's query-cost limits: the settings' defaults, or the operator's override in `tenants`.

The override is read from the database at most once per `TENANT_LIMITS_CACHE_SECONDS` per
process and tenant, so a change made with `saas tenant limits` reaches every server within
that bound, and a busy tenant costs no database read per request.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from sqlalchemy import Engine, select

from saas.accounts.models import Tenant
from saas.audit.log import NamedActor, record_change
from saas.config import Settings
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.events.outbox import emit_event
from saas.tenancy.session import tenant_session

# Above this a per-minute budget or a per-request limit is surely a typo (and Lua's doubles
# stay exact far beyond it).
MAX_LIMIT = 1_000_000_000


@dataclass(frozen=True)
class TenantLimits:
    cost_per_minute: int
    max_query_cost: int

    @property
    def request_limit(self) -> int:
        """The most one operation may cost: it must also fit in a full bucket to ever run."""
        return min(self.max_query_cost, self.cost_per_minute)


def effective_limits(settings: Settings, cost_per_minute: int | None, max_query_cost: int | None) -> TenantLimits:
    return TenantLimits(
        cost_per_minute=cost_per_minute if cost_per_minute is not None else settings.tenant_cost_per_minute,
        max_query_cost=max_query_cost if max_query_cost is not None else settings.max_query_cost,
    )


def read_limits(engine: Engine, settings: Settings, tenant_id: uuid.UUID) -> TenantLimits:
    """Blocking: one statement on the tenants registry."""
    with tenant_session(engine, None) as session:
        row = session.execute(
            select(Tenant.cost_per_minute, Tenant.max_query_cost).where(Tenant.id == tenant_id)
        ).one_or_none()
    return effective_limits(settings, *(row or (None, None)))


class TenantLimitsCache:
    """Tenants' limits as read within the last `ttl_seconds`; `clock` is replaceable in tests."""

    def __init__(self, engine: Engine, settings: Settings, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.settings = settings
        self.clock = clock
        self.ttl_seconds = settings.tenant_limits_cache_seconds
        self._entries: dict[uuid.UUID, tuple[float, TenantLimits]] = {}
        self._lock = threading.Lock()

    def cached(self, tenant_id: uuid.UUID) -> TenantLimits | None:
        """Non-blocking: the limits if read moments ago, else None."""
        with self._lock:
            entry = self._entries.get(tenant_id)
        if entry is None or entry[0] <= self.clock():
            return None
        return entry[1]

    def get(self, tenant_id: uuid.UUID) -> TenantLimits:
        """Blocking on a miss (it reads the database): call it from a worker thread."""
        limits = self.cached(tenant_id)
        if limits is None:
            limits = read_limits(self.engine, self.settings, tenant_id)
            with self._lock:
                if len(self._entries) > 10_000:
                    self._entries.clear()
                self._entries[tenant_id] = (self.clock() + self.ttl_seconds, limits)
        return limits

    def forget(self, tenant_id: uuid.UUID) -> None:
        with self._lock:
            self._entries.pop(tenant_id, None)


def _checked(name: str, value: int | None) -> int | None:
    if value is not None and not 0 < value <= MAX_LIMIT:
        raise InputInvalid(
            [FieldError([name], UserErrorCode.OUT_OF_RANGE, f"{name} must be between 1 and {MAX_LIMIT}")]
        )
    return value


# Limits are set by whoever runs the deployment (`saas tenant limits`), not by a member.
OPERATOR = NamedActor("deployment operator")
LIMITS_CHANGED = "tenant.limits_changed"


class Keep(Enum):
    """The value of a limit left as it is."""

    UNCHANGED = "unchanged"


UNCHANGED = Keep.UNCHANGED


def set_tenant_limits(
    engine: Engine,
    settings: Settings,
    slug: str,
    *,
    cost_per_minute: int | Keep | None = UNCHANGED,
    max_query_cost: int | Keep | None = UNCHANGED,
) -> TenantLimits | None:
    """Set (a number), reset to the default (None) or keep (`UNCHANGED`) each override of the
    tenant named `slug`; returns its limits now, or None when no tenant has that slug.

    Raises InputInvalid (OUT_OF_RANGE) for a limit below 1 or absurdly high; nothing is written then.
    """
    values = {}
    if not isinstance(cost_per_minute, Keep):
        values["cost_per_minute"] = _checked("costPerMinute", cost_per_minute)
    if not isinstance(max_query_cost, Keep):
        values["max_query_cost"] = _checked("maxQueryCost", max_query_cost)
    with tenant_session(engine, None) as session:
        tenant_id = session.scalar(select(Tenant.id).where(Tenant.slug == slug))
    if tenant_id is None:
        return None
    # Bound to the tenant: the audit entry and the event land in its log and outbox, with the change.
    with tenant_session(engine, tenant_id) as session:
        tenant = session.scalars(select(Tenant).where(Tenant.id == tenant_id).with_for_update()).one()
        before = _limits_view(tenant)
        for attribute, value in values.items():
            setattr(tenant, attribute, value)
        session.flush()
        after = _limits_view(tenant)
        if after != before:
            record_change(session, OPERATOR, LIMITS_CHANGED, "Tenant", tenant_id, before, after)
            emit_event(session, LIMITS_CHANGED, {"limits": after})
        return effective_limits(settings, tenant.cost_per_minute, tenant.max_query_cost)


def _limits_view(tenant: Tenant) -> dict[str, int | None]:
    """The tenant's overrides as the event and the audit log show them (null: the deployment's default)."""
    return {"costPerMinute": tenant.cost_per_minute, "maxQueryCost": tenant.max_query_cost}
