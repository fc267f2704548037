"""GraphQL types of the finance plugin (all named `Fin…`), built from rows by `from_model`."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

import strawberry
from strawberry.types import Info

from saas.plugin_api import CustomerType, Node, NotFoundError, RequestContext, customer_of, to_global_id
from saas_finance import analysis, models
from saas_finance.graphql import loaders
from saas_finance.models import AssetClass, TradeSide, TransactionKind

# The plugin's domain enums are its GraphQL enums, exposed once, here, under `Fin…` names.
strawberry.enum(AssetClass, name="FinAssetClass")
strawberry.enum(TransactionKind, name="FinTransactionKind")
strawberry.enum(TradeSide, name="FinTradeSide")

PERCENT = Decimal("0.01")


def ref(type_name: str, raw_id: uuid.UUID | str) -> strawberry.ID:
    return strawberry.ID(to_global_id(type_name, raw_id))


def change_of(last: Decimal | None, previous: Decimal | None) -> tuple[Decimal | None, Decimal | None]:
    """(last - previous close, the same in percent of the previous close to 2 decimals)."""
    if last is None or previous is None:
        return None, None
    change = last - previous
    return change, (change * 100 / previous).quantize(PERCENT, rounding=ROUND_HALF_UP)


@strawberry.type(name="FinInstrument", description="Something with a price: a share, a bond, a fund, a coin.")
class Instrument(Node):
    symbol: str = strawberry.field(description="Unique within the tenant, upper case.")
    name: str
    asset_class: AssetClass
    currency: str
    last_price: Decimal | None = strawberry.field(
        description="The newest quote's price; an older quote never replaces it."
    )
    last_price_at: datetime | None
    previous_close: Decimal | None = strawberry.field(
        description="The close of the last UTC day before the last price's day."
    )
    change: Decimal | None = strawberry.field(description="lastPrice - previousClose.")
    change_percent: Decimal | None = strawberry.field(description="change in percent of previousClose (2 decimals).")
    created_at: datetime

    @classmethod
    def from_values(cls, values: dict[str, Any]) -> Instrument:
        change, percent = change_of(values["last_price"], values["previous_close"])
        return cls(
            id=ref("FinInstrument", values["id"]),
            symbol=values["symbol"],
            name=values["name"],
            asset_class=AssetClass(values["asset_class"]),
            currency=values["currency"],
            last_price=values["last_price"],
            last_price_at=values["last_price_at"],
            previous_close=values["previous_close"],
            change=change,
            change_percent=percent,
            created_at=values["created_at"],
        )

    @classmethod
    def from_model(cls, row: models.Instrument) -> Instrument:
        return cls.from_values({c: getattr(row, c) for c in INSTRUMENT_COLUMNS})

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> Instrument:
        """An instrument as `quotes.ingest` published it (decimals as strings, ISO date-times)."""

        def number(key: str) -> Decimal | None:
            return Decimal(message[key]) if message.get(key) is not None else None

        def moment(key: str) -> datetime | None:
            return datetime.fromisoformat(message[key]) if message.get(key) is not None else None

        return cls.from_values(
            message
            | {k: number(k) for k in ("last_price", "previous_close")}
            | {k: moment(k) for k in ("last_price_at", "created_at")}
        )


INSTRUMENT_COLUMNS = (
    "id", "symbol", "name", "asset_class", "currency", "last_price", "last_price_at", "previous_close", "created_at",
)  # fmt: skip


@strawberry.type(name="FinPricePoint", description="The close of one UTC day: the price of its newest quote.")
class PricePoint:
    on: date
    close: Decimal

    @classmethod
    def from_model(cls, row: models.DailyClose) -> PricePoint:
        return cls(on=row.on, close=row.close)


@strawberry.type(name="FinAccount", description="A customer's account: cash and the instruments bought with it.")
class Account(Node):
    number: str = strawberry.field(description="Unique within the tenant.")
    currency: str
    cash_balance: Decimal = strawberry.field(description="Cash after every transaction of the ledger.")
    created_at: datetime
    customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="The customer; null when the caller no longer sees it.")
    async def customer(self, info: Info[RequestContext, None]) -> CustomerType | None:
        return await customer_of(info.context, self.customer_id)  # type: ignore[return-value]

    @classmethod
    def from_model(cls, row: models.Account) -> Account:
        return cls(
            id=ref("FinAccount", row.id),
            number=row.number,
            currency=row.currency,
            cash_balance=row.cash_balance,
            created_at=row.created_at,
            customer_id=row.customer_id,
        )


@strawberry.type(name="FinTransaction", description="One row of the append-only ledger of an account.")
class Transaction(Node):
    kind: TransactionKind
    quantity: Decimal | None = strawberry.field(description="Units bought or sold (trades only).")
    price: Decimal | None = strawberry.field(description="Price per unit (trades only).")
    amount: Decimal = strawberry.field(description="Gross cash: quantity * price for trades, to the cent.")
    fee: Decimal
    cash_after: Decimal = strawberry.field(description="The account's cash after this row.")
    occurred_at: datetime
    actor: str = strawberry.field(description="Who recorded it (member e-mail or API key).")
    created_at: datetime
    account_id: strawberry.Private[uuid.UUID]
    instrument_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def instrument(self, info: Info[RequestContext, None]) -> Instrument | None:
        if self.instrument_id is None:
            return None
        row = await loaders.instruments(info.context).load(self.instrument_id)
        return Instrument.from_model(row) if row is not None else None

    @strawberry.field
    async def account(self, info: Info[RequestContext, None]) -> Account | None:
        row = await loaders.accounts(info.context).load(self.account_id)
        return Account.from_model(row) if row is not None else None

    @classmethod
    def from_model(cls, row: models.Transaction) -> Transaction:
        return cls(
            id=ref("FinTransaction", row.id),
            kind=TransactionKind(row.kind),
            quantity=row.quantity,
            price=row.price,
            amount=row.amount,
            fee=row.fee,
            cash_after=row.cash_after,
            occurred_at=row.occurred_at,
            actor=row.actor,
            created_at=row.created_at,
            account_id=row.account_id,
            instrument_id=row.instrument_id,
        )


@strawberry.type(name="FinTargetWeight", description="The share of the account's value an asset class should hold.")
class TargetWeight:
    asset_class: AssetClass
    weight: Decimal

    @classmethod
    def from_model(cls, row: models.TargetWeight) -> TargetWeight:
        return cls(asset_class=AssetClass(row.asset_class), weight=row.weight)


async def _instrument_ref(info: Info[RequestContext, None], instrument_id: uuid.UUID) -> Instrument:
    row = await loaders.instruments(info.context).load(instrument_id)
    if row is None:  # positions and trades only name instruments of the tenant (composite foreign keys)
        raise NotFoundError("Instrument not found", id=str(instrument_id))
    return Instrument.from_model(row)


@strawberry.type(name="FinPosition", description="Units of one instrument held, valued at its price.")
class Position:
    quantity: Decimal
    average_cost: Decimal = strawberry.field(description="costBasis / quantity (8 decimals).")
    cost_basis: Decimal = strawberry.field(
        description="What the units held cost, fees included (FIFO lots or average)."
    )
    market_value: Decimal = strawberry.field(description="quantity * price, to the cent (the cost without a price).")
    unrealized_pnl: Decimal
    weight: Decimal = strawberry.field(description="marketValue / the portfolio's value with cash (6 decimals).")
    instrument_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def instrument(self, info: Info[RequestContext, None]) -> Instrument:
        return await _instrument_ref(info, self.instrument_id)

    @classmethod
    def from_figures(cls, p: analysis.PositionFigures) -> Position:
        return cls(
            quantity=p.quantity,
            average_cost=p.average_cost,
            cost_basis=p.cost_basis,
            market_value=p.market_value,
            unrealized_pnl=p.unrealized_pnl,
            weight=p.weight,
            instrument_id=p.instrument.id,
        )


@strawberry.type(
    name="FinAllocation", description="The value held in one asset class (cash counts as CASH_EQUIVALENT)."
)
class Allocation:
    asset_class: AssetClass
    value: Decimal
    weight: Decimal


@strawberry.type(name="FinPerformance", description="Returns and risk between two UTC days, from daily valuations.")
class Performance:
    time_weighted_return: Decimal = strawberry.field(
        description="The product of (1 + daily return) - 1, with deposits and withdrawals removed (6 decimals)."
    )
    annualized_volatility: Decimal | None = strawberry.field(
        description="Sample standard deviation of the daily returns * √252; null with fewer than two returns."
    )
    max_drawdown: Decimal = strawberry.field(description="The largest fall from a peak of the return index, 0 to 1.")


@strawberry.type(
    name="FinPortfolio",
    description="An account's positions, P&L and allocation at the last prices or at a day's closes.",
)
class Portfolio:
    market_value: Decimal = strawberry.field(description="The positions' value (cash not included).")
    cost_basis: Decimal
    unrealized_pnl: Decimal
    realized_pnl: Decimal
    cash_balance: Decimal
    positions: list[Position]
    allocation: list[Allocation]
    account_id: strawberry.Private[uuid.UUID]

    @strawberry.field(description="Time-weighted return, volatility and drawdown from `from` to `to` (UTC days).")
    async def performance(
        self,
        info: Info[RequestContext, None],
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
    ) -> Performance:
        from saas_finance.service import portfolio

        figures = await info.context.read(
            portfolio.performance, info.context.require_principal(), self.account_id, from_, to
        )
        return Performance(
            time_weighted_return=figures.time_weighted_return,
            annualized_volatility=figures.annualized_volatility,
            max_drawdown=figures.max_drawdown,
        )

    @classmethod
    def from_figures(cls, account_id: uuid.UUID, f: analysis.PortfolioFigures) -> Portfolio:
        return cls(
            market_value=f.market_value,
            cost_basis=f.cost_basis,
            unrealized_pnl=f.unrealized_pnl,
            realized_pnl=f.realized_pnl,
            cash_balance=f.cash_balance,
            positions=[Position.from_figures(p) for p in f.positions],
            allocation=[
                Allocation(asset_class=AssetClass(a.asset_class), value=a.value, weight=a.weight) for a in f.allocation
            ],
            account_id=account_id,
        )


@strawberry.type(name="FinTradeSuggestion", description="One trade of a rebalancing plan, at the last price.")
class TradeSuggestion:
    side: TradeSide
    quantity: Decimal = strawberry.field(description="Whole units for equities and funds.")
    estimated_amount: Decimal = strawberry.field(description="quantity * last price: sales rounded down, purchases up.")
    instrument_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def instrument(self, info: Info[RequestContext, None]) -> Instrument:
        return await _instrument_ref(info, self.instrument_id)

    @classmethod
    def from_trade(cls, trade: analysis.Trade) -> TradeSuggestion:
        return cls(
            side=TradeSide(trade.side),
            quantity=trade.quantity,
            estimated_amount=trade.estimated_amount,
            instrument_id=trade.instrument.id,
        )


@strawberry.type
class FinanceCustomerFields:
    """Fields added to the core `Customer` type (`GraphQLContribution.type_fields`)."""

    @strawberry.field(description="The customer's financial accounts, by number (`fin:accounts:read`).")
    async def financial_accounts(
        self, info: Info[RequestContext, None], customer: strawberry.Parent[Any]
    ) -> list[Account]:
        from saas.plugin_api import decode_id

        rows = await loaders.customer_accounts(info.context).load(decode_id(customer.id, "Customer"))
        return [Account.from_model(row) for row in rows]


TYPES: tuple[type, ...] = (
    Instrument, PricePoint, Account, Transaction, TargetWeight, Position, Allocation, Performance, Portfolio,
    TradeSuggestion,
)  # fmt: skip
