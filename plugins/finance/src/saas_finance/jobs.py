"""Background work: every minute, each tenant's configured quote feeds are polled and ingested."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select

from saas.plugin_api import JobContext, PeriodicJob, Principal, tenant_job
from saas_finance import feeds
from saas_finance.models import Instrument
from saas_finance.rules import MARKET_WRITE
from saas_finance.service import quotes
from saas_finance.service.common import now, settings

log = logging.getLogger(__name__)


@tenant_job("finance.poll_quotes", max_retries=0)
def poll_quotes(ctx: JobContext) -> int:
    """Ask each feed of the tenant's `feeds` setting for quotes and ingest them; the number accepted.

    A feed that fails (or an unknown feed code) is logged and skipped: one broken source never
    stops the others, and the next minute asks again (no retries pile up)."""
    configured = settings(ctx.session).feeds
    if not configured:
        return 0
    principal = Principal(tenant_id=ctx.tenant_id, label="job:fin-feeds", permissions=frozenset({MARKET_WRITE}))
    priced = ctx.session.execute(select(Instrument.symbol, Instrument.last_price)).all()
    symbols = tuple(symbol for symbol, _ in priced)
    last_prices = {symbol: price for symbol, price in priced if price is not None}
    accepted = 0
    for source in configured:
        feed = feeds.registry().get(source.feed)
        if feed is None:
            log.warning("unknown quote feed %r", source.feed, extra={"tenant": str(ctx.tenant_id)})
            continue
        allow_private = bool(ctx.webhook_sender and ctx.webhook_sender.settings.allow_private_networks)
        request = feeds.FeedRequest(ctx.tenant_id, symbols, source.source, now(), last_prices, allow_private)
        try:
            fetched = feed.fetch(request)
        except Exception:
            log.warning("quote feed %r failed", source.feed, exc_info=True, extra={"tenant": str(ctx.tenant_id)})
            continue
        batch = [quotes.Quote(q.symbol, q.price, q.at) for q in fetched]
        for start in range(0, len(batch), quotes.MAX_BATCH):
            accepted += quotes.ingest(ctx.session, principal, batch[start : start + quotes.MAX_BATCH]).accepted
    return accepted


JOBS = [poll_quotes]
PERIODIC_JOBS = [PeriodicJob(name="finance.poll_quotes", job=poll_quotes, interval=timedelta(minutes=1))]
