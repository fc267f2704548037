"""Background work: a periodic reconciliation proving the stock levels equal the ledger's sums."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from saas.plugin_api import JobContext, PeriodicJob, Principal, emit_event, tenant_job
from saas_manufacturing.events import STOCK_MISMATCH
from saas_manufacturing.models import StockLevel
from saas_manufacturing.service.common import Actor
from saas_manufacturing.service.inventory import ledger_totals

log = logging.getLogger(__name__)


@tenant_job("manufacturing.reconcile_stock", max_retries=2)
def reconcile_stock(ctx: JobContext) -> int:
    """Compare every level with its ledger; emit `mfg.stock.mismatch` for each difference (never expected)."""
    actor = Actor(Principal(tenant_id=ctx.tenant_id, label="job:mfg-reconcile", permissions=frozenset()))
    mismatches = 0
    for level in ctx.session.scalars(select(StockLevel)):
        on_hand, reserved = ledger_totals(ctx.session, actor, level.product_id, level.warehouse_id)
        if (on_hand, reserved) != (level.on_hand, level.reserved):
            mismatches += 1
            log.error("stock level differs from its ledger", extra={"tenant": str(ctx.tenant_id)})
            emit_event(
                ctx.session,
                STOCK_MISMATCH,
                {
                    "product_id": str(level.product_id),
                    "warehouse_id": str(level.warehouse_id),
                    "level": {"on_hand": level.on_hand, "reserved": level.reserved},
                    "ledger": {"on_hand": on_hand, "reserved": reserved},
                },
            )
    return mismatches


JOBS = [reconcile_stock]
PERIODIC_JOBS = [PeriodicJob(name="manufacturing.reconcile_stock", job=reconcile_stock, interval=timedelta(hours=24))]
