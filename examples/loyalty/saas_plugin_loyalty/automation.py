"""What the loyalty plugin adds to automation rules: an action that awards points, and an operator.

- action `loyalty.award_points` `{"points": 50, "reason": "..."}`: points for the customer of
  the event (`customer.id` in its payload), through `service.adjust_points`;
- operator `loyalty.points_at_least`: `{"field": "customer.id", "op": "loyalty.points_at_least",
  "value": 100}` holds when that customer's balance is at least the value.
"""

from __future__ import annotations

from typing import Any

from saas.plugin_api import (
    AutomationAction,
    AutomationCondition,
    DomainEvent,
    NotFoundError,
    PluginContext,
    Principal,
    decode_id,
)

from saas_plugin_loyalty import service
from saas_plugin_loyalty.rules import LOYALTY_ADJUST


def _check_award(params: dict[str, Any]) -> str | None:
    points, reason = params.get("points"), params.get("reason", "Automation")
    if isinstance(points, bool) or not isinstance(points, int) or not 0 < points <= service.MAX_ADJUSTMENT:
        return f"points must be a whole number from 1 to {service.MAX_ADJUSTMENT}"
    if not isinstance(reason, str) or not 0 < len(reason.strip()) <= 200:
        return "reason must be a string of 1 to 200 characters"
    return None


def _award(context: PluginContext, event: DomainEvent, params: dict[str, Any]) -> None:
    customer = event.payload.get("customer") or {}
    customer_id = decode_id(str(customer.get("id") or ""), "Customer")
    acting = Principal(tenant_id=context.tenant_id, label="loyalty automation", permissions=frozenset({LOYALTY_ADJUST}))
    service.adjust_points(context.session, acting, customer_id, params["points"], params.get("reason", "Automation"))


def _check_threshold(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        return "loyalty.points_at_least compares with a whole number of points"
    return None


def _points_at_least(context: PluginContext, actual: Any, value: Any) -> bool:
    try:
        customer_id = decode_id(str(actual), "Customer")
    except NotFoundError:
        return False
    return service.balance_of(context.session, customer_id) >= value


AWARD_POINTS = AutomationAction(
    name="loyalty.award_points", check=_check_award, run=_award, description="Award points to the event's customer."
)
POINTS_AT_LEAST = AutomationCondition(
    name="loyalty.points_at_least",
    check=_check_threshold,
    test=_points_at_least,
    description="The customer (a Customer id at `field`) has at least `value` points.",
)
