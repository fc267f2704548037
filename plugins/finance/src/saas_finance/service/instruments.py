"""Instruments: created by hand, priced by quotes (`quotes.py`); reads by symbol and price history."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.plugin_api import BadUserInputError, Checker, Page, Principal, UserErrorCode, keyset_page, require
from saas_finance import events
from saas_finance.errors import invalid
from saas_finance.models import AssetClass, DailyClose, Instrument
from saas_finance.rules import MARKET_READ, MARKET_WRITE
from saas_finance.service.common import not_found

SYMBOL = re.compile(r"^[A-Z0-9][A-Z0-9.\-/:^=]{0,31}$")
CURRENCY = re.compile(r"^[A-Z]{3}$")
MAX_HISTORY_DAYS = 3_700


def check_currency(field: list[str | int], currency: str) -> str:
    if not CURRENCY.match(currency or ""):
        raise invalid(field, UserErrorCode.INVALID, "currency must be an ISO 4217 code such as EUR")
    return currency


def create_instrument(session: Session, principal: Principal, data: dict[str, Any]) -> Instrument:
    """A new instrument of the tenant; its symbol (upper case) is unique in the tenant (TAKEN)."""
    require(principal.permissions, MARKET_WRITE)
    check = Checker(data)
    check.text("symbol", required=True, max_length=32)
    check.text("name", required=True, max_length=200)
    clean = check.done()
    symbol = clean["symbol"].strip().upper()
    if not SYMBOL.match(symbol):
        raise invalid(["input", "symbol"], UserErrorCode.INVALID, "A symbol is letters, digits and . - / : ^ =")
    currency = check_currency(["input", "currency"], data["currency"])
    asset_class = AssetClass(data["asset_class"])
    instrument = Instrument(
        id=uuid.uuid4(), symbol=symbol, name=clean["name"].strip(), asset_class=asset_class, currency=currency
    )
    try:
        with session.begin_nested():
            session.add(instrument)
            session.flush()
    except IntegrityError:
        raise invalid(["input", "symbol"], UserErrorCode.TAKEN, f"{symbol} already exists") from None
    events.instrument_created(session, instrument)
    return instrument


@dataclass(frozen=True)
class InstrumentFilter:
    asset_class: str | None = None
    search: str | None = None


def list_instruments(
    session: Session, principal: Principal, flt: InstrumentFilter, limit: int, after: list[Any] | None
) -> Page:
    """By symbol (keyset on the unique symbol, one statement); `search` matches symbol or name, case-insensitively."""
    require(principal.permissions, MARKET_READ)
    query = select(Instrument)
    if flt.asset_class is not None:
        query = query.where(Instrument.asset_class == flt.asset_class)
    if flt.search:
        pattern = "%" + flt.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(or_(Instrument.symbol.ilike(pattern), Instrument.name.ilike(pattern)))
    return keyset_page(session, query, (Instrument.symbol,), limit, after, count=False)


def get_instrument(session: Session, principal: Principal, instrument_id: uuid.UUID) -> Instrument:
    require(principal.permissions, MARKET_READ)
    instrument = session.get(Instrument, (principal.tenant_id, instrument_id))
    if instrument is None:
        raise not_found("Instrument", instrument_id)
    return instrument


def check_history_span(start: date, end: date) -> None:
    """`from..to` of a price history: 0 to MAX_HISTORY_DAYS days, else BAD_USER_INPUT."""
    if end < start or (end - start).days > MAX_HISTORY_DAYS:
        raise BadUserInputError(f"from..to must span 0 to {MAX_HISTORY_DAYS} days")


def price_history(
    session: Session, principal: Principal, instrument_id: uuid.UUID, start: date, end: date
) -> list[DailyClose]:
    """The daily closes from `start` to `end` (inclusive, UTC days), oldest first; at most ~10 years."""
    get_instrument(session, principal, instrument_id)
    check_history_span(start, end)
    query = (
        select(DailyClose)
        .where(DailyClose.instrument_id == instrument_id, DailyClose.on >= start, DailyClose.on <= end)
        .order_by(DailyClose.on)
    )
    return list(session.scalars(query))
