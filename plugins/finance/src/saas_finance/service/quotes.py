"""Quote ingestion: a batch of quotes becomes three statements, whatever its size (up to 5,000).

1. the batch's symbols are resolved to the tenant's instruments (one SELECT);
2. each (instrument, UTC day) keeps its newest quote as the day's close (one INSERT … ON CONFLICT
   that only replaces an older close: `quoted_at <= excluded.quoted_at`);
3. each instrument takes its newest quote as the last price, only if it is not older than the
   stored one (one UPDATE whose condition is evaluated on the locked, newest row version, so two
   concurrent batches can never leave the older quote in place), and its previous close is read
   again from the closes (the newest close of a day before the last price's).

An out-of-order quote (older than the last price) still sets the close of its own day when it is
that day's newest, but never the last price. The instruments whose last price changed are
published to `quotesUpdated` subscribers after commit, in chunks.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import text
from sqlalchemy.orm import Session

from saas.plugin_api import Principal, publish_after_commit, require
from saas_finance import events
from saas_finance.errors import FinErrorCode, QuoteRejection, invalid
from saas_finance.rules import MARKET_WRITE
from saas_finance.service.common import QUOTES_TOPIC, now

MAX_BATCH = 5_000
MAX_PRICE = Decimal("1e12")
# A quote may be dated a little ahead of this server's clock (clock skew), never further.
MAX_CLOCK_SKEW = timedelta(minutes=5)
MESSAGE_CHUNK = 500


@dataclass(frozen=True)
class Quote:
    symbol: str
    price: Decimal
    at: datetime


@dataclass(frozen=True)
class Rejected:
    index: int
    symbol: str
    reason: QuoteRejection


@dataclass
class IngestResult:
    accepted: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    updated: list[dict[str, Any]] = field(default_factory=list)


def _reason(quote: Quote, latest_allowed: datetime) -> QuoteRejection | None:
    try:
        if not quote.price.is_finite() or not Decimal(0) < quote.price < MAX_PRICE:
            return QuoteRejection.INVALID_PRICE
    except InvalidOperation:
        return QuoteRejection.INVALID_PRICE
    if quote.at.tzinfo is None or quote.at > latest_allowed:
        return QuoteRejection.INVALID_TIME
    return None


RESOLVE = "SELECT symbol, id FROM fin_instruments WHERE tenant_id = :tenant_id AND symbol = ANY(:symbols)"

UPSERT_CLOSES = """
INSERT INTO fin_daily_closes AS c (tenant_id, instrument_id, "on", close, quoted_at)
SELECT :tenant_id, q.instrument_id, q.day, q.price, q.at
FROM unnest(CAST(:ids AS uuid[]), CAST(:days AS date[]), CAST(:prices AS numeric[]), CAST(:ats AS timestamptz[]))
    AS q(instrument_id, day, price, at)
ON CONFLICT (tenant_id, instrument_id, "on")
DO UPDATE SET close = excluded.close, quoted_at = excluded.quoted_at WHERE c.quoted_at <= excluded.quoted_at
"""

UPDATE_LAST = """
UPDATE fin_instruments i SET
    last_price = CASE WHEN i.last_price_at IS NULL OR i.last_price_at <= q.at THEN q.price ELSE i.last_price END,
    last_price_at = GREATEST(i.last_price_at, q.at),
    previous_close = (
        SELECT c.close FROM fin_daily_closes c
        WHERE c.tenant_id = i.tenant_id AND c.instrument_id = i.id
          AND c."on" < (GREATEST(i.last_price_at, q.at) AT TIME ZONE 'UTC')::date
        ORDER BY c."on" DESC LIMIT 1
    )
FROM unnest(CAST(:ids AS uuid[]), CAST(:prices AS numeric[]), CAST(:ats AS timestamptz[])) AS q(instrument_id, price, at)
WHERE i.tenant_id = :tenant_id AND i.id = q.instrument_id
RETURNING i.id, i.symbol, i.name, i.asset_class, i.currency, i.last_price, i.last_price_at, i.previous_close,
    i.created_at,
    (i.last_price_at = q.at AND i.last_price = q.price) AS changed
"""


def ingest(session: Session, principal: Principal, quotes: list[Quote]) -> IngestResult:
    """Take a batch of quotes (`fin:market:write`): each is accepted or rejected with a reason.

    More than MAX_BATCH quotes is TOO_MANY_QUOTES and nothing is taken. Within the batch, the
    later of two quotes of one instrument with the same time wins.
    """
    require(principal.permissions, MARKET_WRITE)
    if len(quotes) > MAX_BATCH:
        raise invalid(["input", "quotes"], FinErrorCode.TOO_MANY_QUOTES, f"At most {MAX_BATCH} quotes per batch")
    result = IngestResult()
    latest_allowed = now() + MAX_CLOCK_SKEW
    symbols = sorted({q.symbol.strip().upper() for q in quotes if len(q.symbol) <= 64})
    found: dict[str, Any] = dict(
        session.execute(text(RESOLVE), {"tenant_id": principal.tenant_id, "symbols": symbols}).all()
    )
    closes: dict[tuple[Any, Any], Quote] = {}
    newest: dict[Any, Quote] = {}
    for index, quote in enumerate(quotes):
        instrument_id = found.get(quote.symbol.strip().upper())
        reason = QuoteRejection.UNKNOWN_SYMBOL if instrument_id is None else _reason(quote, latest_allowed)
        if reason is not None:
            result.rejected.append(Rejected(index, quote.symbol[:64], reason))
            continue
        result.accepted += 1
        day = quote.at.astimezone(latest_allowed.tzinfo).date()
        kept = closes.get((instrument_id, day))
        if kept is None or kept.at <= quote.at:
            closes[(instrument_id, day)] = quote
        kept = newest.get(instrument_id)
        if kept is None or kept.at <= quote.at:
            newest[instrument_id] = quote
    if not newest:
        return result
    session.execute(
        text(UPSERT_CLOSES),
        {
            "tenant_id": principal.tenant_id,
            "ids": [key[0] for key in closes],
            "days": [key[1] for key in closes],
            "prices": [q.price for q in closes.values()],
            "ats": [q.at for q in closes.values()],
        },
    )
    rows = session.execute(
        text(UPDATE_LAST),
        {
            "tenant_id": principal.tenant_id,
            "ids": list(newest),
            "prices": [q.price for q in newest.values()],
            "ats": [q.at for q in newest.values()],
        },
    ).all()
    result.updated = [_message(row) for row in rows if row.changed]
    for start in range(0, len(result.updated), MESSAGE_CHUNK):
        publish_after_commit(session, QUOTES_TOPIC, {"instruments": result.updated[start : start + MESSAGE_CHUNK]})
    events.quotes_ingested(session, result.accepted, len(result.rejected), [m["symbol"] for m in result.updated])
    return result


def _message(row: Any) -> dict[str, Any]:
    """An instrument as `quotesUpdated` streams it (JSON: decimals as strings)."""
    return {
        "id": str(row.id),
        "symbol": row.symbol,
        "name": row.name,
        "asset_class": row.asset_class,
        "currency": row.currency,
        "last_price": str(row.last_price) if row.last_price is not None else None,
        "last_price_at": row.last_price_at.isoformat() if row.last_price_at is not None else None,
        "previous_close": str(row.previous_close) if row.previous_close is not None else None,
        "created_at": row.created_at.isoformat(),
    }
