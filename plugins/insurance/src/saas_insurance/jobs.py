"""Background work: training the churn model on request, and the daily retention run."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from saas.plugin_api import JobContext, PeriodicJob, tenant_job
from saas_insurance.service import retention, training

log = logging.getLogger(__name__)


@tenant_job("insurance.train_churn_model", max_retries=2)
def train_churn_model(ctx: JobContext) -> str | None:
    """Fit and keep the tenant's churn model (`trainChurnModel` enqueues it); its id, or None when
    the outcomes no longer suffice (checked again here: the mutation's check may be stale)."""
    model = training.train(ctx.session, ctx.tenant_id)
    if model is None:
        log.warning("churn model not trained: not enough past renewal outcomes", extra={"tenant": str(ctx.tenant_id)})
        return None
    return str(model.id)


@tenant_job("insurance.daily_retention", max_retries=3)
def daily_retention(ctx: JobContext) -> dict[str, Any]:
    """Expire ended policies, refresh renewal scores, make retention tasks and cross-sell leads."""
    return retention.daily(ctx.session, ctx.tenant_id)


JOBS = [train_churn_model, daily_retention]
PERIODIC_JOBS = [PeriodicJob(name="insurance.daily_retention", job=daily_retention, interval=timedelta(hours=24))]
