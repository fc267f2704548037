"""Background work: a periodic reconciliation proving the stock levels equal the ledger's sums."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from saas.plugin_api import JobContext, PeriodicJob, Principal, tenant_job
from saas_manufacturing import events
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
            events.stock_mismatch(ctx.session, level, on_hand, reserved)
    return mismatches


JOBS = [reconcile_stock]
PERIODIC_JOBS = [PeriodicJob(name="manufacturing.reconcile_stock", job=reconcile_stock, interval=timedelta(hours=24))]
