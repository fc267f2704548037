"""Operations and helpers shared by the finance tests (through the real GraphQL engine)."""

from __future__ import annotations

import asyncio
import secrets
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import text

if TYPE_CHECKING:
    from saas.plugin_api.testing import PluginTestTenant

USER_ERRORS = "userErrors { field code message }"
INSTRUMENT = "id symbol name assetClass currency lastPrice lastPriceAt previousClose change changePercent"
ACCOUNT = "id number currency cashBalance customer { id }"
TRANSACTION = "id kind quantity price amount fee cashAfter occurredAt instrument { symbol }"

ENABLE = f"mutation($input: EnablePluginInput!) {{ enablePlugin(input: $input) {{ plugin {{ name enabled settings }} {USER_ERRORS} }} }}"
CREATE_CUSTOMER = (
    "mutation($name: String!) { createCustomer(input: {name: $name, allowDuplicate: true}) { customer { id } } }"
)
CREATE_INSTRUMENT = f"mutation($input: FinCreateInstrumentInput!) {{ createInstrument(input: $input) {{ instrument {{ {INSTRUMENT} }} {USER_ERRORS} }} }}"
INGEST = f"mutation($input: FinIngestQuotesInput!) {{ ingestQuotes(input: $input) {{ accepted rejected {{ index symbol reason }} {USER_ERRORS} }} }}"
OPEN = f"mutation($input: FinOpenFinancialAccountInput!) {{ openFinancialAccount(input: $input) {{ account {{ {ACCOUNT} }} {USER_ERRORS} }} }}"
RECORD = f"mutation($input: FinRecordTransactionInput!) {{ recordTransaction(input: $input) {{ transaction {{ {TRANSACTION} }} account {{ cashBalance }} {USER_ERRORS} }} }}"
TARGETS = f"mutation($input: FinSetTargetAllocationInput!) {{ setTargetAllocation(input: $input) {{ targets {{ assetClass weight }} {USER_ERRORS} }} }}"
INSTRUMENTS = f"query($first: Int, $after: String, $filter: FinInstrumentFilterInput) {{ instruments(first: $first, after: $after, filter: $filter) {{ edges {{ cursor node {{ {INSTRUMENT} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
HISTORY = (
    "query($id: ID!, $from: Date!, $to: Date!) { priceHistory(instrumentId: $id, from: $from, to: $to) { on close } }"
)
ACCOUNTS = f"query($customer: ID) {{ financialAccounts(customerId: $customer) {{ {ACCOUNT} }} }}"
TRANSACTIONS = f"query($account: ID!, $first: Int, $after: String, $filter: FinTransactionFilterInput) {{ transactions(accountId: $account, first: $first, after: $after, filter: $filter) {{ edges {{ cursor node {{ {TRANSACTION} }} }} pageInfo {{ hasNextPage endCursor }} }} }}"
PORTFOLIO = """query($account: ID!, $asOf: Date) { portfolio(accountId: $account, asOf: $asOf) {
  marketValue costBasis unrealizedPnl realizedPnl cashBalance
  positions { instrument { symbol } quantity averageCost marketValue unrealizedPnl weight }
  allocation { assetClass value weight } } }"""
PERFORMANCE = """query($account: ID!, $from: Date!, $to: Date!) { portfolio(accountId: $account) {
  performance(from: $from, to: $to) { timeWeightedReturn annualizedVolatility maxDrawdown } } }"""
PLAN = "query($account: ID!) { rebalancePlan(accountId: $account) { instrument { symbol } side quantity estimatedAmount } }"
QUOTES_UPDATED = (
    "subscription($s: [String!]!) { quotesUpdated(symbols: $s) { symbol lastPrice lastPriceAt previousClose } }"
)


def ok(client: Any, query: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """The payload of a mutation that must succeed without user errors."""
    payload = client.data(query, variables)[field]
    assert payload["userErrors"] == [], payload
    return payload


def refused(client: Any, query: str, variables: dict[str, Any], field: str) -> list[tuple[list[str], str]]:
    """(field, code) of the user errors of a mutation that must fail."""
    payload = client.data(query, variables)[field]
    assert payload["userErrors"], payload
    return [(e["field"], e["code"]) for e in payload["userErrors"]]


def enable(client: Any, settings: dict[str, Any] | None = None) -> Any:
    ok(client, ENABLE, {"input": {"name": "finance", "settings": settings}}, "enablePlugin")
    return client


def count_rows(tenant: PluginTestTenant, table: str, where: str = "TRUE", **params: Any) -> int:
    """The tenant's rows in `table`, read as the application role (under RLS)."""
    with tenant.session() as session:
        return int(session.execute(text(f"SELECT count(*) FROM {table} WHERE {where}"), params).scalar_one())


def create_customer(client: Any, name: str = "Acme") -> str:
    return client.data(CREATE_CUSTOMER, {"name": name})["createCustomer"]["customer"]["id"]


def instrument(client: Any, symbol: str | None = None, asset_class: str = "EQUITY", currency: str = "EUR") -> str:
    symbol = symbol or f"S{secrets.token_hex(3).upper()}"
    variables = {
        "input": {"symbol": symbol, "name": f"Instrument {symbol}", "assetClass": asset_class, "currency": currency}
    }
    return ok(client, CREATE_INSTRUMENT, variables, "createInstrument")["instrument"]["id"]


def ingest(client: Any, quotes: list[tuple[str, str, str]]) -> dict[str, Any]:
    variables = {"input": {"quotes": [{"symbol": s, "price": p, "at": a} for s, p, a in quotes]}}
    return ok(client, INGEST, variables, "ingestQuotes")


def account(client: Any, customer: str | None = None, currency: str = "EUR", number: str | None = None) -> str:
    customer = customer or create_customer(client)
    variables = {"input": {"customerId": customer, "currency": currency, "number": number}}
    return ok(client, OPEN, variables, "openFinancialAccount")["account"]["id"]


def record_input(account_id: str, kind: str, at: str, **values: Any) -> dict[str, Any]:
    return {
        "input": {
            "accountId": account_id,
            "kind": kind,
            "occurredAt": at,
            **{k: str(v) if isinstance(v, Decimal) else v for k, v in values.items()},
        }
    }


def record(client: Any, account_id: str, kind: str, at: str, **values: Any) -> dict[str, Any]:
    return ok(client, RECORD, record_input(account_id, kind, at, **values), "recordTransaction")


def run_concurrently(client: Any, query: str, variables: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every operation at once through the engine (one event loop, the server's thread pool):
    each runs in its own database transaction, so they race for real."""
    engine = client.engine

    async def main() -> list[dict[str, Any]]:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        prepared = engine.prepare(query, None, principal)

        async def one(index: int, values: dict[str, Any]) -> dict[str, Any]:
            outcome = await engine.execute(prepared, values, principal, f"concurrent-{index}")
            result: dict[str, Any] = orjson.loads(orjson.dumps(outcome.payload))
            return result

        return await asyncio.gather(*(one(i, v) for i, v in enumerate(variables)))

    return asyncio.run(main())
