"""Root query fields of the plugin: thin wrappers over the services; `node(id)`, `instruments`,
`priceHistory`, `financialAccounts` and `transactions` read compiled (one statement each)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, date, datetime, time
from typing import Annotated, Any, TypeVar

import strawberry
from strawberry.types import Info

from saas.plugin_api import (
    Connection,
    NotFoundError,
    RequestContext,
    SortKey,
    SqlCondition,
    Within,
    compiled_list,
    compiled_page,
    connection,
    customer_visibility,
    decode_id,
    page_arguments,
    require,
)
from saas_finance.graphql import sql, types
from saas_finance.models import Instrument, Transaction
from saas_finance.rules import ACCOUNTS_READ, MARKET_READ
from saas_finance.service import accounts, instruments, ledger, portfolio
from saas_finance.service.common import not_found
from saas_finance.service.instruments import InstrumentFilter
from saas_finance.service.ledger import TransactionFilter

BY_SYMBOL = ("text",)
# The instruments' keyset: the unique symbol, as `instruments.list_instruments`.
SYMBOL_SORT = SortKey(("symbol",), BY_SYMBOL, descending=False)
BY_ID = ("uuid",)

T = TypeVar("T")


async def read(info: Info[RequestContext, None], work: Callable[..., T], *args: Any) -> T:
    """The service `work(session, principal, *args)` on the request's read session."""
    return await info.context.read(work, info.context.require_principal(), *args)


def page_args(
    info: Info[RequestContext, None], first: int | None, after: str | None, key: tuple[str, ...]
) -> tuple[int, list[Any] | None]:
    return page_arguments(first, after, key, info.context.runtime.settings.max_page_size)


# -- compiled node(id) conditions ---------------------------------------------------------------


def _visible_customer_sql(context: RequestContext, account_alias: str, condition: SqlCondition) -> None:
    visibility = SqlCondition()
    customer_visibility(context.require_principal(), "vc", visibility)
    condition.add(
        f"EXISTS (SELECT 1 FROM customers vc WHERE vc.tenant_id = {account_alias}.tenant_id"
        f" AND vc.id = {account_alias}.customer_id AND vc.deleted_at IS NULL AND {visibility.sql})",
        **visibility.params,
    )


def instrument_condition(context: RequestContext) -> SqlCondition:
    require(context.require_principal().permissions, MARKET_READ)
    return SqlCondition()


def instrument_list_condition(context: RequestContext, flt: InstrumentFilter) -> SqlCondition:
    """`instruments.list_instruments`' rows as a compiled read's condition (alias `r`)."""
    condition = instrument_condition(context)
    condition.given("r.asset_class", "filter_asset_class", flt.asset_class, convert=lambda v: getattr(v, "value", v))
    if flt.search:
        pattern = "%" + flt.search.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        condition.add("(r.symbol ILIKE :filter_search OR r.name ILIKE :filter_search)", filter_search=pattern)
    return condition


def account_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    require(context.require_principal().permissions, ACCOUNTS_READ)
    condition = SqlCondition()
    _visible_customer_sql(context, alias, condition)
    return condition


def transaction_condition(context: RequestContext) -> SqlCondition:
    require(context.require_principal().permissions, ACCOUNTS_READ)
    inner = SqlCondition()
    _visible_customer_sql(context, "va", inner)
    condition = SqlCondition()
    condition.add(
        "EXISTS (SELECT 1 FROM fin_accounts va WHERE va.tenant_id = r.tenant_id AND va.id = r.account_id"
        f" AND {inner.sql})",
        **inner.params,
    )
    return condition


def loader(work: Callable[..., Any], to_type: Callable[[Any], Any]) -> Callable[[RequestContext, uuid.UUID], Any]:
    async def load(context: RequestContext, raw_id: uuid.UUID) -> Any:
        try:
            row = await context.read(work, context.require_principal(), raw_id)
        except NotFoundError:
            return None
        return to_type(row)

    return load


# -- inputs -------------------------------------------------------------------------------------


@strawberry.input(name="FinInstrumentFilterInput", description="All given conditions must hold.")
class InstrumentFilterInput:
    asset_class: types.AssetClass | None = None
    search: str | None = strawberry.field(default=None, description="Part of the symbol or the name, any case.")


@strawberry.input(name="FinTransactionFilterInput", description="All given conditions must hold.")
class TransactionFilterInput:
    kind: types.TransactionKind | None = None
    instrument_id: strawberry.ID | None = None
    from_: date | None = strawberry.field(default=None, name="from", description="From this UTC day on.")
    to: date | None = strawberry.field(default=None, description="Up to this UTC day, inclusive.")

    def to_filter(self) -> TransactionFilter:
        return TransactionFilter(
            kind=self.kind,
            instrument_id=decode_id(self.instrument_id, "FinInstrument") if self.instrument_id else None,
            start=datetime.combine(self.from_, time.min, UTC) if self.from_ else None,
            end=datetime.combine(self.to, time.max, UTC) if self.to else None,
        )


@strawberry.type
class FinanceQueries:
    @strawberry.field(description="Instruments by symbol (`fin:market:read`).")
    async def instruments(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: InstrumentFilterInput | None = None,
    ) -> Connection[types.Instrument]:
        flt = InstrumentFilter(
            asset_class=filter.asset_class if filter else None, search=filter.search if filter else None
        )
        condition = instrument_list_condition(info.context, flt)
        return await compiled_page(  # type: ignore[no-any-return]
            info, sql.INSTRUMENT, Instrument, types.Instrument.from_model, condition, SYMBOL_SORT, first, after
        )

    @strawberry.field(description="An instrument's daily closes from `from` to `to` (UTC days), oldest first.")
    async def price_history(
        self,
        info: Info[RequestContext, None],
        instrument_id: strawberry.ID,
        from_: Annotated[date, strawberry.argument(name="from")],
        to: date,
    ) -> list[types.PricePoint]:
        raw_id = decode_id(instrument_id, "FinInstrument")
        condition = instrument_condition(info.context)
        instruments.check_history_span(from_, to)
        condition.add(
            'r.instrument_id = :filter_instrument_id AND r."on" >= :filter_from AND r."on" <= :filter_to',
            filter_instrument_id=raw_id,
            filter_from=from_,
            filter_to=to,
        )
        within = Within(
            "fin_instruments",
            SqlCondition(["w.id = :within_instrument_id"], {"within_instrument_id": raw_id}),
            lambda: not_found("Instrument", raw_id),
        )

        async def resolved() -> list[types.PricePoint]:
            rows = await read(info, instruments.price_history, raw_id, from_, to)
            return [types.PricePoint.from_model(row) for row in rows]

        # `price_history`'s rows in its order, as one compiled statement (NOT_FOUND for an unknown instrument).
        return await compiled_list(info, sql.PRICE_POINT, condition, 'r."on"', resolved, within)  # type: ignore[no-any-return]

    @strawberry.field(description="Accounts of the customers the caller sees (of one customer when given).")
    async def financial_accounts(
        self, info: Info[RequestContext, None], customer_id: strawberry.ID | None = None
    ) -> list[types.Account]:
        customer = decode_id(customer_id, "Customer") if customer_id else None
        condition = account_condition(info.context)
        condition.given("r.customer_id", "filter_customer_id", customer)

        async def resolved() -> list[types.Account]:
            rows = await read(info, accounts.list_accounts, customer)
            return [types.Account.from_model(row) for row in rows]

        # `list_accounts`' rows in its order, as one compiled statement.
        return await compiled_list(info, sql.ACCOUNT, condition, "r.customer_id, r.number", resolved)  # type: ignore[no-any-return]

    @strawberry.field(
        description="An account's ledger, newest first; NOT_FOUND for an account the caller does not see."
    )
    async def transactions(
        self,
        info: Info[RequestContext, None],
        account_id: strawberry.ID,
        first: int | None = 20,
        after: str | None = None,
        filter: TransactionFilterInput | None = None,
    ) -> Connection[types.Transaction]:
        raw_id = decode_id(account_id, "FinAccount")
        flt = filter.to_filter() if filter else TransactionFilter()
        size, values = page_args(info, first, after, BY_ID)  # BAD_USER_INPUT before anything is read
        condition = SqlCondition()
        condition.add("r.account_id = :filter_account_id", filter_account_id=raw_id)
        condition.given("r.kind", "filter_kind", flt.kind, convert=lambda v: getattr(v, "value", v))
        condition.given("r.instrument_id", "filter_instrument_id", flt.instrument_id)
        condition.given("r.occurred_at", "filter_start", flt.start, op=">=")
        condition.given("r.occurred_at", "filter_end", flt.end, op="<=")
        # The account must be one the caller sees (as `get_account`), else NOT_FOUND.
        visible = account_condition(info.context, "w")
        visible.add("w.id = :within_account_id", within_account_id=raw_id)
        within = Within("fin_accounts", visible, lambda: not_found("Account", raw_id))

        async def resolved() -> Connection[types.Transaction]:
            page = await read(info, ledger.list_transactions, raw_id, flt, size, values)
            return connection(
                page, types.Transaction.from_model, lambda row: [row.id], has_previous_page=after is not None
            )

        return await compiled_page(  # type: ignore[no-any-return]
            info,
            sql.TRANSACTION,
            Transaction,
            types.Transaction.from_model,
            condition,
            sql.TRANSACTION_SORT,
            first,
            after,
            within=within,
            page_fallback=resolved,
        )

    @strawberry.field(description="Positions, P&L and allocation at the last prices, or at the closes of `asOf`.")
    async def portfolio(
        self, info: Info[RequestContext, None], account_id: strawberry.ID, as_of: date | None = None
    ) -> types.Portfolio:
        raw_id = decode_id(account_id, "FinAccount")
        account, figures = await read(info, portfolio.portfolio, raw_id, as_of)
        return types.Portfolio.from_figures(account.id, figures)

    @strawberry.field(description="The trades toward the account's target allocation (none without targets).")
    async def rebalance_plan(
        self, info: Info[RequestContext, None], account_id: strawberry.ID
    ) -> list[types.TradeSuggestion]:
        raw_id = decode_id(account_id, "FinAccount")
        trades = await read(info, portfolio.rebalance_plan, raw_id)
        return [types.TradeSuggestion.from_trade(trade) for trade in trades]
