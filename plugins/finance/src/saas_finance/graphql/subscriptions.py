"""The live stream of prices: `quotesUpdated(symbols)`, from the tenant's own channel, after commit,
coalesced per subscriber to at most one message per symbol per 100 ms (`coalesce.py`)."""

from __future__ import annotations

from collections.abc import AsyncGenerator, AsyncIterator
from typing import Any

import strawberry
from strawberry.types import Info

from saas.plugin_api import BadUserInputError, RequestContext, listen, require
from saas_finance.coalesce import coalesce
from saas_finance.graphql import types
from saas_finance.rules import MARKET_READ
from saas_finance.service.common import QUOTES_TOPIC

COALESCE_SECONDS = 0.1
MAX_SYMBOLS = 500


async def _instruments(messages: AsyncIterator[dict[str, Any]], wanted: set[str]) -> AsyncIterator[dict[str, Any]]:
    """Each published instrument of `wanted` (a message carries a batch's instruments)."""
    async for message in messages:
        for instrument in message["instruments"]:
            if instrument["symbol"] in wanted:
                yield instrument


@strawberry.type
class FinanceSubscriptions:
    @strawberry.subscription(
        description="Each change of these symbols' last price in the tenant (`fin:market:read`), at most one "
        "message per symbol per 100 ms: a burst ends with the newest price."
    )
    async def quotes_updated(
        self, info: Info[RequestContext, None], symbols: list[str]
    ) -> AsyncGenerator[types.Instrument, None]:
        principal = info.context.require_principal()
        require(principal.permissions, MARKET_READ)
        wanted = {s.strip().upper() for s in symbols}
        if not wanted or len(wanted) > MAX_SYMBOLS:
            raise BadUserInputError(f"Name 1 to {MAX_SYMBOLS} symbols")
        source = listen(info.context.runtime.redis_url, principal.tenant_id, QUOTES_TOPIC)
        async for instrument in coalesce(_instruments(source, wanted), lambda i: i["symbol"], COALESCE_SECONDS):
            yield types.Instrument.from_message(instrument)
