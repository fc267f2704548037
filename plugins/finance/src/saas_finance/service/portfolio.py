"""Portfolio reads and target allocations: rows loaded in a few statements per account (never one
per position or per day), the arithmetic in `analysis.py`."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from sqlalchemy import delete, select, text
from sqlalchemy.orm import Session

from saas.plugin_api import BadUserInputError, Principal, UserErrorCode, require
from saas_finance import analysis, events
from saas_finance.errors import FinErrorCode, invalid
from saas_finance.models import Account, AssetClass, DailyClose, Holding, Instrument, TargetWeight, Transaction
from saas_finance.rules import ACCOUNTS_WRITE
from saas_finance.service.accounts import get_account, input_account
from saas_finance.service.common import settings
from saas_finance.settings import CostMethod

MAX_PERFORMANCE_DAYS = 3_700

CLOSES_AS_OF = """
SELECT DISTINCT ON (instrument_id) instrument_id, close FROM fin_daily_closes
WHERE tenant_id = :tenant_id AND instrument_id = ANY(:ids) AND "on" <= :as_of
ORDER BY instrument_id, "on" DESC
"""


def _entries(session: Session, account: Account, until: date | None) -> list[analysis.Entry]:
    query = select(Transaction).where(Transaction.account_id == account.id)
    rows = session.scalars(query.order_by(Transaction.occurred_at, Transaction.seq))
    entries = [
        analysis.Entry(
            kind=row.kind,
            amount=row.amount,
            fee=row.fee,
            occurred_at=row.occurred_at,
            instrument_id=row.instrument_id,
            quantity=row.quantity,
            price=row.price,
        )
        for row in rows
    ]
    return [e for e in entries if until is None or e.day <= until]


def _instruments(session: Session, ids: set[uuid.UUID]) -> dict[uuid.UUID, Instrument]:
    return {row.id: row for row in session.scalars(select(Instrument).where(Instrument.id.in_(ids)))}


def _info(row: Instrument) -> analysis.InstrumentInfo:
    return analysis.InstrumentInfo(id=row.id, symbol=row.symbol, asset_class=row.asset_class)


def portfolio(
    session: Session, principal: Principal, account_id: uuid.UUID, as_of: date | None
) -> tuple[Account, analysis.PortfolioFigures]:
    """The account's positions, P&L and allocation at the last prices, or at the closes of `as_of`
    (with the ledger up to that UTC day)."""
    account = get_account(session, principal, account_id)
    entries = _entries(session, account, as_of)
    average = settings(session).cost_method == CostMethod.AVERAGE_COST
    book = analysis.book_of(entries, average_cost=average)
    rows = _instruments(session, {e.instrument_id for e in entries if e.instrument_id})
    if as_of is None:
        prices = {i: row.last_price for i, row in rows.items() if row.last_price is not None}
    else:
        params = {"tenant_id": account.tenant_id, "ids": list(rows), "as_of": as_of}
        prices = dict(session.execute(text(CLOSES_AS_OF), params).all())
    figures = analysis.portfolio_figures(book, {i: _info(row) for i, row in rows.items()}, prices)
    return account, figures


def performance(
    session: Session, principal: Principal, account_id: uuid.UUID, start: date, end: date
) -> analysis.PerformanceFigures:
    """Time-weighted return, volatility and drawdown from `start` to `end` (UTC days)."""
    if end < start or (end - start).days > MAX_PERFORMANCE_DAYS:
        raise BadUserInputError(f"from..to must span 0 to {MAX_PERFORMANCE_DAYS} days")
    account = get_account(session, principal, account_id)
    entries = _entries(session, account, end)
    ids = {e.instrument_id for e in entries if e.instrument_id}
    closes: dict[uuid.UUID, list[tuple[date, Decimal]]] = {}
    query = (
        select(DailyClose.instrument_id, DailyClose.on, DailyClose.close)
        .where(DailyClose.instrument_id.in_(ids), DailyClose.on <= end)
        .order_by(DailyClose.instrument_id, DailyClose.on)
    )
    for instrument_id, on, close in session.execute(query):
        closes.setdefault(instrument_id, []).append((on, close))
    days = sorted({on for series in closes.values() for on, _ in series if on >= start})
    return analysis.performance(analysis.valuations(entries, closes, days))


# -- targets and rebalancing --------------------------------------------------------------------

WEIGHT_PLACES = 8


def set_targets(
    session: Session, principal: Principal, account_id: uuid.UUID, targets: list[tuple[str, Decimal]]
) -> tuple[Account, list[TargetWeight]]:
    """Replace the account's target weights; they must sum to exactly 1 (WEIGHTS_NOT_ONE)."""
    require(principal.permissions, ACCOUNTS_WRITE)
    if not targets:
        raise invalid(["input", "targets"], UserErrorCode.REQUIRED, "Give at least one target weight")
    seen: set[str] = set()
    for index, (asset_class, weight) in enumerate(targets):
        if asset_class in seen:
            raise invalid(["input", "targets", index, "assetClass"], UserErrorCode.DUPLICATE, "One weight per class")
        seen.add(asset_class)
        exponent = weight.normalize().as_tuple().exponent if weight.is_finite() else 0
        if not weight.is_finite() or not 0 <= weight <= 1 or (isinstance(exponent, int) and -exponent > WEIGHT_PLACES):
            raise invalid(
                ["input", "targets", index, "weight"],
                UserErrorCode.INVALID,
                f"A weight is 0 to 1 with at most {WEIGHT_PLACES} decimals",
            )
    total = sum((weight for _, weight in targets), Decimal(0))
    if total != 1:
        raise invalid(["input", "targets"], FinErrorCode.WEIGHTS_NOT_ONE, f"The weights sum to {total}, not 1")
    account = input_account(session, principal, account_id, lock=True)
    session.execute(delete(TargetWeight).where(TargetWeight.account_id == account.id))
    rows = [TargetWeight(account_id=account.id, asset_class=AssetClass(c), weight=w) for c, w in targets]
    session.add_all(rows)
    session.flush()
    events.targets_set(session, account, rows)
    return account, sorted(rows, key=lambda row: list(AssetClass).index(AssetClass(row.asset_class)))


def targets_of(session: Session, account_id: uuid.UUID) -> list[TargetWeight]:
    rows = session.scalars(select(TargetWeight).where(TargetWeight.account_id == account_id))
    return sorted(rows, key=lambda row: list(AssetClass).index(AssetClass(row.asset_class)))


def rebalance_plan(session: Session, principal: Principal, account_id: uuid.UUID) -> list[analysis.Trade]:
    """The trades toward the account's targets at the last prices (none without targets).

    Positions without a price yet cannot be valued or traded and are left out."""
    account = get_account(session, principal, account_id)
    targets = {row.asset_class: row.weight for row in targets_of(session, account.id)}
    if not targets:
        return []
    held = session.execute(
        select(Holding.quantity, Instrument)
        .join(Instrument, (Instrument.tenant_id == Holding.tenant_id) & (Instrument.id == Holding.instrument_id))
        .where(Holding.account_id == account.id, Holding.quantity > 0, Instrument.last_price.is_not(None))
    ).all()
    holdings = [
        analysis.Holding(_info(row), quantity, row.last_price) for quantity, row in held if row.last_price is not None
    ]
    held_classes = {h.instrument.asset_class for h in holdings}
    candidates: dict[str, analysis.Holding] = {}
    wanted_classes = [c for c, w in targets.items() if w > 0 and c not in held_classes]
    if wanted_classes:
        query = (
            select(Instrument)
            .where(
                Instrument.asset_class.in_(wanted_classes),
                Instrument.currency == account.currency,
                Instrument.last_price.is_not(None),
            )
            .order_by(Instrument.asset_class, Instrument.symbol)
        )
        for row in session.scalars(query):  # the first symbol of each class
            if row.asset_class not in candidates and row.last_price is not None:
                candidates[row.asset_class] = analysis.Holding(_info(row), Decimal(0), row.last_price)
    return analysis.rebalance(account.cash_balance, holdings, targets, candidates)
