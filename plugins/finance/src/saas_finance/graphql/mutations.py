"""Root mutation fields of the plugin: one `input`, a payload with `userErrors` (the core's conventions).

Each runs its service through the kit: `run_mutation` turns ids named inside the input that do
not decode into `userErrors` (`referenced_id`), and the service's `InputInvalid` likewise, with
nothing written (the service's transaction rolls back).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from saas.plugin_api import Payload, RequestContext, referenced_id, run_mutation
from saas_finance.graphql import types
from saas_finance.service import accounts, instruments, ledger, portfolio, quotes

# -- inputs -------------------------------------------------------------------------------------


@strawberry.input(name="FinCreateInstrumentInput")
class CreateInstrumentInput:
    symbol: str
    name: str
    asset_class: types.AssetClass
    currency: str = strawberry.field(description="ISO 4217, e.g. EUR.")


@strawberry.input(name="FinQuoteInput")
class QuoteInput:
    symbol: str
    price: Decimal
    at: datetime = strawberry.field(description="When the price was quoted (with a time zone).")


@strawberry.input(name="FinIngestQuotesInput")
class IngestQuotesInput:
    quotes: list[QuoteInput] = strawberry.field(description=f"At most {quotes.MAX_BATCH}.")


@strawberry.input(name="FinOpenFinancialAccountInput")
class OpenFinancialAccountInput:
    customer_id: strawberry.ID
    currency: str
    number: str | None = strawberry.field(default=None, description="Generated (FA-…) when left out.")


@strawberry.input(name="FinRecordTransactionInput")
class RecordTransactionInput:
    account_id: strawberry.ID
    kind: types.TransactionKind
    occurred_at: datetime
    instrument_id: strawberry.ID | None = strawberry.field(default=None, description="BUY, SELL and DIVIDEND.")
    quantity: Decimal | None = strawberry.field(default=None, description="BUY and SELL: units, up to 8 decimals.")
    price: Decimal | None = strawberry.field(default=None, description="BUY and SELL: per unit, up to 8 decimals.")
    amount: Decimal | None = strawberry.field(
        default=None, description="DEPOSIT, WITHDRAWAL, DIVIDEND, FEE: the cash (to the cent); trades compute it."
    )
    fee: Decimal | None = strawberry.field(default=None, description="Paid by the account on top (0 when left out).")


@strawberry.input(name="FinTargetWeightInput")
class TargetWeightInput:
    asset_class: types.AssetClass
    weight: Decimal = strawberry.field(description="0 to 1; an account's weights sum to exactly 1.")


@strawberry.input(name="FinSetTargetAllocationInput")
class SetTargetAllocationInput:
    account_id: strawberry.ID
    targets: list[TargetWeightInput]


# -- payloads -----------------------------------------------------------------------------------


@strawberry.type(name="FinCreateInstrumentPayload")
class CreateInstrumentPayload(Payload):
    instrument: types.Instrument | None = None


@strawberry.type(name="FinRejectedQuote", description="A quote of the batch that was not taken, and why.")
class RejectedQuote:
    index: int = strawberry.field(description="Its position in `input.quotes`.")
    symbol: str
    reason: str = strawberry.field(description="UNKNOWN_SYMBOL, INVALID_PRICE or INVALID_TIME.")


@strawberry.type(name="FinIngestQuotesPayload")
class IngestQuotesPayload(Payload):
    accepted: int = 0
    rejected: list[RejectedQuote] = strawberry.field(default_factory=list)


@strawberry.type(name="FinOpenFinancialAccountPayload")
class OpenFinancialAccountPayload(Payload):
    account: types.Account | None = None


@strawberry.type(name="FinRecordTransactionPayload")
class RecordTransactionPayload(Payload):
    transaction: types.Transaction | None = None
    account: types.Account | None = None


@strawberry.type(name="FinSetTargetAllocationPayload")
class SetTargetAllocationPayload(Payload):
    account: types.Account | None = None
    targets: list[types.TargetWeight] | None = None


# -- mutations ----------------------------------------------------------------------------------


async def _write(info: Info[RequestContext, None], work: Any, *args: Any) -> Any:
    context = info.context
    return await context.write(work, context.require_principal(), *args)


@strawberry.type
class FinanceMutations:
    @strawberry.mutation(description="An instrument (`fin:market:write`); its symbol is unique in the tenant (TAKEN).")
    async def create_instrument(
        self, info: Info[RequestContext, None], input: CreateInstrumentInput
    ) -> CreateInstrumentPayload:
        async def run() -> dict[str, Any]:
            data = {
                "symbol": input.symbol,
                "name": input.name,
                "asset_class": input.asset_class,
                "currency": input.currency,
            }
            return {"instrument": types.Instrument.from_model(await _write(info, instruments.create_instrument, data))}

        return await run_mutation(run, CreateInstrumentPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Up to 5,000 quotes at once (`fin:market:write`): each is accepted or rejected with a reason; "
        "an older quote than an instrument's last never replaces its last price."
    )
    async def ingest_quotes(self, info: Info[RequestContext, None], input: IngestQuotesInput) -> IngestQuotesPayload:
        async def run() -> dict[str, Any]:
            batch = [quotes.Quote(q.symbol, q.price, q.at) for q in input.quotes]
            result = await _write(info, quotes.ingest, batch)
            rejected = [RejectedQuote(index=r.index, symbol=r.symbol, reason=r.reason.value) for r in result.rejected]
            return {"accepted": result.accepted, "rejected": rejected}

        return await run_mutation(run, IngestQuotesPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(description="An empty account of a visible customer (`fin:accounts:write`).")
    async def open_financial_account(
        self, info: Info[RequestContext, None], input: OpenFinancialAccountInput
    ) -> OpenFinancialAccountPayload:
        async def run() -> dict[str, Any]:
            customer = referenced_id(input.customer_id, "Customer", "customerId")
            data = {"currency": input.currency, "number": input.number}
            return {"account": types.Account.from_model(await _write(info, accounts.open_account, customer, data))}

        return await run_mutation(run, OpenFinancialAccountPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Appends a row to the account's ledger and moves its cash and units (`fin:accounts:write`): "
        "INSUFFICIENT_HOLDINGS / INSUFFICIENT_CASH when it would sell more than held or spend more than the cash, "
        "also under concurrent requests."
    )
    async def record_transaction(
        self, info: Info[RequestContext, None], input: RecordTransactionInput
    ) -> RecordTransactionPayload:
        async def run() -> dict[str, Any]:
            account = referenced_id(input.account_id, "FinAccount", "accountId")
            data = {
                "kind": input.kind,
                "instrument_id": referenced_id(input.instrument_id, "FinInstrument", "instrumentId"),
                "quantity": input.quantity,
                "price": input.price,
                "amount": input.amount,
                "fee": input.fee,
                "occurred_at": input.occurred_at,
            }
            row, account_row = await _write(info, ledger.record_transaction, account, data)
            return {
                "transaction": types.Transaction.from_model(row),
                "account": types.Account.from_model(account_row),
            }

        return await run_mutation(run, RecordTransactionPayload)  # type: ignore[no-any-return]

    @strawberry.mutation(
        description="Replaces the account's target weights per asset class; they must sum to 1 (WEIGHTS_NOT_ONE)."
    )
    async def set_target_allocation(
        self, info: Info[RequestContext, None], input: SetTargetAllocationInput
    ) -> SetTargetAllocationPayload:
        async def run() -> dict[str, Any]:
            account = referenced_id(input.account_id, "FinAccount", "accountId")
            targets = [(t.asset_class.value, t.weight) for t in input.targets]
            account_row, rows = await _write(info, portfolio.set_targets, account, targets)
            return {
                "account": types.Account.from_model(account_row),
                "targets": [types.TargetWeight.from_model(row) for row in rows],
            }

        return await run_mutation(run, SetTargetAllocationPayload)  # type: ignore[no-any-return]
