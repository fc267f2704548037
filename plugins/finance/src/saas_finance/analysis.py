"""Portfolio arithmetic, pure and in `Decimal` throughout (no float anywhere): lots and P&L,
valuation, time-weighted return, volatility, drawdown. The services load rows and call these.

Conventions (README "Portfolio analysis"):
- A buy's cost is quantity * price plus its fee; a sale's proceeds are quantity * price less its
  fee. Realised P&L is proceeds less the cost of the units sold: the oldest lots first (FIFO), or
  the average cost of the units held (AVERAGE_COST, a tenant setting).
- Cash counts as CASH_EQUIVALENT in the allocation, so the allocation's weights sum to 1.
- Returns are measured between valuation days (the days with a close of an instrument the
  account traded). Deposits and withdrawals between two valuation days are removed from the
  later day's value before its return is taken (`r = (V - flows) / V_previous - 1`), so only
  what the investments did counts; dividends and fees are part of the return.
- Volatility is the sample standard deviation of those returns * √252; the maximum drawdown is
  the largest fall of the return index from a previous peak, as a positive fraction.
Money is rounded to the cent and ratios to 6 decimals, halves away from zero, only at the end.
"""

from __future__ import annotations

import itertools
import uuid
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, ROUND_UP, Context, Decimal

from saas_finance.models import WHOLE_UNITS, AssetClass, TransactionKind

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
# Six decimals: the most a Decimal prints without an exponent (str(Decimal("0.0000001")) is "1E-7").
RATIO = Decimal("0.000001")
FRACTION = Decimal("0.00000001")
UNIT = Decimal(1)
TRADING_DAYS = Decimal(252)
PRECISION = Context(prec=28)


def cents(value: Decimal, rounding: str = ROUND_HALF_UP) -> Decimal:
    return value.quantize(CENT, rounding=rounding)


def ratio(value: Decimal) -> Decimal:
    return value.quantize(RATIO, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Entry:
    """One ledger row, as the arithmetic needs it."""

    kind: str
    amount: Decimal
    fee: Decimal
    occurred_at: datetime
    instrument_id: uuid.UUID | None = None
    quantity: Decimal | None = None
    price: Decimal | None = None

    @property
    def day(self) -> date:
        """The UTC day of the row (days are UTC days throughout the plugin)."""
        return self.occurred_at.astimezone(UTC).date()

    @property
    def cash(self) -> Decimal:
        if self.kind in (TransactionKind.SELL, TransactionKind.DEPOSIT, TransactionKind.DIVIDEND):
            return self.amount - self.fee
        return -(self.amount + self.fee)

    @property
    def external_flow(self) -> Decimal:
        """Money brought in (+) or taken out (-) by the customer; zero for everything else."""
        return self.cash if self.kind in (TransactionKind.DEPOSIT, TransactionKind.WITHDRAWAL) else ZERO


@dataclass
class Lot:
    quantity: Decimal
    cost: Decimal


@dataclass
class Book:
    """Positions as lots, cash and realised P&L after applying entries in ledger order."""

    average_cost: bool = False
    lots: dict[uuid.UUID, deque[Lot]] = field(default_factory=dict)
    cash: Decimal = ZERO
    realized: Decimal = ZERO

    def apply(self, entry: Entry) -> None:
        self.cash += entry.cash
        if entry.kind == TransactionKind.BUY and entry.instrument_id and entry.quantity:
            lots = self.lots.setdefault(entry.instrument_id, deque())
            cost = entry.amount + entry.fee
            if self.average_cost and lots:
                lots[0].quantity += entry.quantity
                lots[0].cost += cost
            else:
                lots.append(Lot(entry.quantity, cost))
        elif entry.kind == TransactionKind.SELL and entry.instrument_id and entry.quantity:
            taken = self._take(entry.instrument_id, entry.quantity)
            self.realized += entry.amount - entry.fee - taken

    def _take(self, instrument_id: uuid.UUID, quantity: Decimal) -> Decimal:
        """The cost of `quantity` units leaving the oldest lots first (one lot under average cost)."""
        lots = self.lots.get(instrument_id, deque())
        remaining, cost = quantity, ZERO
        while remaining > 0 and lots:
            lot = lots[0]
            if lot.quantity <= remaining:
                cost += lot.cost
                remaining -= lot.quantity
                lots.popleft()
            else:
                part = lot.cost * remaining / lot.quantity
                cost += part
                lot.cost -= part
                lot.quantity -= remaining
                remaining = ZERO
        return cost

    def quantity(self, instrument_id: uuid.UUID) -> Decimal:
        return sum((lot.quantity for lot in self.lots.get(instrument_id, ())), ZERO)

    def cost_basis(self, instrument_id: uuid.UUID) -> Decimal:
        return sum((lot.cost for lot in self.lots.get(instrument_id, ())), ZERO)

    def held(self) -> list[uuid.UUID]:
        return [i for i in self.lots if self.quantity(i) > 0]


def book_of(entries: Iterable[Entry], *, average_cost: bool = False) -> Book:
    book = Book(average_cost=average_cost)
    for entry in entries:
        book.apply(entry)
    return book


@dataclass(frozen=True)
class InstrumentInfo:
    id: uuid.UUID
    symbol: str
    asset_class: str


@dataclass(frozen=True)
class PositionFigures:
    instrument: InstrumentInfo
    quantity: Decimal
    average_cost: Decimal
    cost_basis: Decimal
    market_value: Decimal
    unrealized_pnl: Decimal
    weight: Decimal


@dataclass(frozen=True)
class AllocationFigures:
    asset_class: str
    value: Decimal
    weight: Decimal


@dataclass(frozen=True)
class PortfolioFigures:
    market_value: Decimal
    cost_basis: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    cash_balance: Decimal
    positions: list[PositionFigures]
    allocation: list[AllocationFigures]


def portfolio_figures(
    book: Book, instruments: dict[uuid.UUID, InstrumentInfo], prices: dict[uuid.UUID, Decimal]
) -> PortfolioFigures:
    """Positions at `prices` (a position without a price is valued at its cost), by symbol."""
    rows = []
    for instrument_id in book.held():
        quantity, basis = book.quantity(instrument_id), book.cost_basis(instrument_id)
        price = prices.get(instrument_id)
        value = cents(quantity * price) if price is not None else cents(basis)
        rows.append((instruments[instrument_id], quantity, basis, value))
    rows.sort(key=lambda row: row[0].symbol)
    cash = cents(book.cash)
    invested = sum((row[3] for row in rows), ZERO)
    total = invested + cash
    positions = [
        PositionFigures(
            instrument=info,
            quantity=quantity,
            average_cost=(basis / quantity).quantize(FRACTION, rounding=ROUND_HALF_UP),
            cost_basis=cents(basis),
            market_value=value,
            unrealized_pnl=value - cents(basis),
            weight=ratio(value / total if total else ZERO),
        )
        for info, quantity, basis, value in rows
    ]
    by_class: dict[str, Decimal] = {}
    for position in positions:
        by_class[position.instrument.asset_class] = by_class.get(position.instrument.asset_class, ZERO) + (
            position.market_value
        )
    if cash:
        by_class[AssetClass.CASH_EQUIVALENT] = by_class.get(AssetClass.CASH_EQUIVALENT, ZERO) + cash
    allocation = [
        AllocationFigures(asset_class=c.value, value=by_class[c], weight=ratio(by_class[c] / total if total else ZERO))
        for c in AssetClass
        if c in by_class
    ]
    cost_basis = sum((p.cost_basis for p in positions), ZERO)
    return PortfolioFigures(
        market_value=invested,
        cost_basis=cost_basis,
        unrealized_pnl=invested - cost_basis,
        realized_pnl=cents(book.realized),
        cash_balance=cash,
        positions=positions,
        allocation=allocation,
    )


# -- performance --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PerformanceFigures:
    time_weighted_return: Decimal
    annualized_volatility: Decimal | None
    max_drawdown: Decimal
    daily_returns: list[Decimal]


def close_on(closes: Sequence[tuple[date, Decimal]], day: date) -> Decimal | None:
    """The newest close on or before `day` (closes sorted by day)."""
    found = None
    for on, close in closes:
        if on > day:
            break
        found = close
    return found


def valuations(
    entries: Sequence[Entry], closes: dict[uuid.UUID, list[tuple[date, Decimal]]], days: Sequence[date]
) -> list[tuple[date, Decimal, Decimal]]:
    """(day, value at the day's end, external flows since the previous day) for each of `days`.

    The value is units * the newest close on or before the day (the cost basis while an
    instrument has no close yet) plus cash, unrounded."""
    result = []
    book = Book()
    position = 0
    previous_day: date | None = None
    for day in days:
        flows = ZERO
        while position < len(entries) and entries[position].day <= day:
            entry = entries[position]
            if previous_day is not None and entry.day > previous_day:
                flows += entry.external_flow
            book.apply(entry)
            position += 1
        value = book.cash
        for instrument_id in book.held():
            close = close_on(closes.get(instrument_id, []), day)
            quantity = book.quantity(instrument_id)
            value += quantity * close if close is not None else book.cost_basis(instrument_id)
        result.append((day, value, flows))
        previous_day = day
    return result


def performance(points: Sequence[tuple[date, Decimal, Decimal]]) -> PerformanceFigures:
    """TWR, annualised volatility and maximum drawdown of the daily valuations `points`."""
    returns: list[Decimal] = []
    for (_, before, _), (_, value, flows) in itertools.pairwise(points):
        if before > 0:
            returns.append((value - flows) / before - ONE)
    growth, peak, drawdown = ONE, ONE, ZERO
    for r in returns:
        growth *= ONE + r
        peak = max(peak, growth)
        drawdown = max(drawdown, (peak - growth) / peak)
    volatility = None
    if len(returns) >= 2:
        mean = sum(returns, ZERO) / len(returns)
        variance = sum(((r - mean) ** 2 for r in returns), ZERO) / (len(returns) - 1)
        volatility = ratio(variance.sqrt(PRECISION) * TRADING_DAYS.sqrt(PRECISION))
    return PerformanceFigures(
        time_weighted_return=ratio(growth - ONE),
        annualized_volatility=volatility,
        max_drawdown=ratio(drawdown),
        daily_returns=returns,
    )


# -- rebalancing --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Holding:
    instrument: InstrumentInfo
    quantity: Decimal
    price: Decimal


@dataclass(frozen=True)
class Trade:
    instrument: InstrumentInfo
    side: str  # "buy" or "sell"
    quantity: Decimal
    estimated_amount: Decimal


def _units(instrument: InstrumentInfo, quantity: Decimal, rounding: str) -> Decimal:
    """Whole units for equities and funds, otherwise 8 decimals."""
    step = UNIT if instrument.asset_class in WHOLE_UNITS else FRACTION
    return quantity.quantize(step, rounding=rounding)


def rebalance(
    cash: Decimal,
    holdings: Sequence[Holding],
    targets: dict[str, Decimal],
    candidates: dict[str, Holding],
    max_greedy_steps: int = 10_000,
) -> list[Trade]:
    """The trades that bring the holdings closest to `targets` (asset class -> weight, summing to 1)
    at the current prices without spending more than the cash plus the sales' proceeds.

    Overweight classes sell in proportion to their positions' values (rounded to the nearest
    whole unit for equities and funds, never more than held); underweight classes buy into their
    held positions in proportion to value, or into `candidates[class]` when none is held. Cash is
    part of CASH_EQUIVALENT, so that class is reached by what the other trades leave in cash.
    Purchases are scaled down to the money available and rounded down to whole units; then the
    money left buys single units where a unit brings a class closer to its target. Estimated sales
    are rounded down to the cent and purchases up, so the plan never spends money it lacks."""
    total = cash + sum((h.quantity * h.price for h in holdings), ZERO)
    if total <= 0:
        return []
    value: dict[str, Decimal] = {c.value: ZERO for c in AssetClass}
    value[AssetClass.CASH_EQUIVALENT] += cash
    for h in holdings:
        value[h.instrument.asset_class] += h.quantity * h.price
    target = {c.value: targets.get(c.value, ZERO) * total for c in AssetClass}
    trades: list[Trade] = []
    budget = cash
    after = dict(value)
    for c in AssetClass:
        excess = value[c] - target[c]
        if c == AssetClass.CASH_EQUIVALENT or excess <= 0:
            continue
        for h in (h for h in holdings if h.instrument.asset_class == c):
            share = h.quantity * h.price / value[c]
            units = min(_units(h.instrument, excess * share / h.price, ROUND_HALF_UP), h.quantity)
            if units > 0:
                proceeds = cents(units * h.price, ROUND_DOWN)
                trades.append(Trade(h.instrument, "sell", units, proceeds))
                budget += proceeds
                after[c] -= units * h.price
    wanted: list[tuple[Holding, Decimal]] = []
    for c in AssetClass:
        shortfall = target[c] - value[c]
        if c == AssetClass.CASH_EQUIVALENT or shortfall <= 0:
            continue
        held = [h for h in holdings if h.instrument.asset_class == c and h.quantity > 0]
        if held:
            wanted += [(h, shortfall * h.quantity * h.price / value[c]) for h in held]
        elif c in candidates:
            wanted.append((candidates[c], shortfall))
    desired = sum((amount for _, amount in wanted), ZERO)
    scale = min(ONE, budget / desired) if desired > 0 else ZERO
    bought: dict[uuid.UUID, tuple[Holding, Decimal]] = {}
    for h, amount in wanted:
        units = _units(h.instrument, amount * scale / h.price, ROUND_DOWN)
        if cents(units * h.price, ROUND_UP) > budget:  # rounding to the cent: keep a cent in hand
            units = _units(h.instrument, max(budget - CENT, ZERO) / h.price, ROUND_DOWN)
        if units > 0:
            budget -= cents(units * h.price, ROUND_UP)
            after[h.instrument.asset_class] += units * h.price
            bought[h.instrument.id] = (h, units)
    # Single whole units with the money left, where a unit brings its class closer to the target.
    whole = [h for h, _ in wanted if h.instrument.asset_class in WHOLE_UNITS]
    for _ in range(max_greedy_steps):
        best = None
        for h in whole:
            gap = target[h.instrument.asset_class] - after[h.instrument.asset_class]
            if cents(h.price, ROUND_UP) <= budget and 2 * gap > h.price and (best is None or gap > best[1]):
                best = (h, gap)
        if best is None:
            break
        h = best[0]
        budget -= cents(h.price, ROUND_UP)
        after[h.instrument.asset_class] += h.price
        units = bought[h.instrument.id][1] + UNIT if h.instrument.id in bought else UNIT
        bought[h.instrument.id] = (h, units)
    for h, units in bought.values():
        trades.append(Trade(h.instrument, "buy", units, cents(units * h.price, ROUND_UP)))
    return sorted(trades, key=lambda t: (t.side != "sell", t.instrument.symbol))
