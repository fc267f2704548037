"""The domain events the plugin emits (outbox → plugins' `saas_handle_event` and webhooks)."""

from __future__ import annotations

from saas_manufacturing.models import SHIPMENT_STATUSES

STOCK_LOW = "mfg.stock.low"
STOCK_MISMATCH = "mfg.stock.mismatch"


def shipment_event(status: str) -> str:
    return f"mfg.shipment.{status}"


# Declared through `saas_event_types`: webhooks of tenants that enabled the plugin may subscribe
# to these (e.g. `mfg.shipment.*`).
EVENT_TYPES = [STOCK_LOW, STOCK_MISMATCH, *(shipment_event(s) for s in SHIPMENT_STATUSES)]
