"""The plugin as a whole: a tenant without it, migrations and RLS, node(id) and Customer.financialAccounts
of the tenant only, the events it emits, and the demo data."""

from __future__ import annotations

import random
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from fin_helpers import (
    ACCOUNTS,
    INSTRUMENTS,
    TRANSACTIONS,
    account,
    count_rows,
    create_customer,
    ingest,
    instrument,
    record,
)
from saas_finance.graphql.contribution import contribution
from saas_finance.hooks import MIGRATIONS
from sqlalchemy import create_engine, text

from saas.plugin_api import DemoContext, PluginContext, Principal, TenantModel
from saas.plugin_api.testing import enable_plugin

# One harmless operation per root field of the plugin (each one must be refused without it).
OPERATIONS = {
    "instruments": "{ instruments { edges { cursor } } }",
    "priceHistory": '{ priceHistory(instrumentId: "x", from: "2026-01-01", to: "2026-01-02") { on } }',
    "financialAccounts": "{ financialAccounts { id } }",
    "transactions": '{ transactions(accountId: "x") { edges { cursor } } }',
    "portfolio": '{ portfolio(accountId: "x") { marketValue } }',
    "rebalancePlan": '{ rebalancePlan(accountId: "x") { side } }',
    "createInstrument": 'mutation { createInstrument(input: {symbol: "X", name: "X", assetClass: EQUITY, currency: "EUR"}) { instrument { id } } }',
    "ingestQuotes": "mutation { ingestQuotes(input: {quotes: []}) { accepted } }",
    "openFinancialAccount": 'mutation { openFinancialAccount(input: {customerId: "x", currency: "EUR"}) { account { id } } }',
    "recordTransaction": 'mutation { recordTransaction(input: {accountId: "x", kind: DEPOSIT, amount: "1", occurredAt: "2026-01-01T00:00:00Z"}) { transaction { id } } }',
    "setTargetAllocation": 'mutation { setTargetAllocation(input: {accountId: "x", targets: []}) { targets { weight } } }',
    "quotesUpdated": 'subscription { quotesUpdated(symbols: ["X"]) { symbol } }',
}


def _camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)


def test_every_root_field_has_an_operation_here() -> None:
    fields = {
        field.graphql_name or _camel(field.python_name)
        for group in (contribution.queries, contribution.mutations, contribution.subscriptions)
        for cls in group
        for field in cls.__strawberry_definition__.fields
    }
    assert set(OPERATIONS) == fields


@pytest.mark.parametrize("name", sorted(OPERATIONS))
def test_a_tenant_without_the_plugin_can_neither_see_nor_call_its_fields(owner: Any, name: str) -> None:
    result = owner.execute(OPERATIONS[name])
    assert [e["extensions"]["code"] for e in result["errors"]] == ["PLUGIN_NOT_ENABLED"], result


def test_customer_financial_accounts_exists_only_with_the_plugin(owner: Any) -> None:
    customer = create_customer(owner)
    query = "query($id: ID!) { customer(id: $id) { financialAccounts { number } } }"
    assert owner.error_codes(query, {"id": customer})
    enable_plugin(owner, "finance")
    account(owner, customer, number="C-1")
    account(owner, customer, number="C-0")
    assert owner.data(query, {"id": customer})["customer"]["financialAccounts"] == [
        {"number": "C-0"},
        {"number": "C-1"},
    ]


def test_customer_pages_read_their_accounts_in_one_statement(fin: Any) -> None:
    query = "{ customers(first: 50) { edges { node { id financialAccounts { number cashBalance } } } } }"
    account(fin, create_customer(fin, "One"))
    fin.data(query)
    one = fin.last_statements
    for n in range(4):
        account(fin, create_customer(fin, f"More {n}"))
    got = fin.data(query)["customers"]["edges"]
    assert sum(len(e["node"]["financialAccounts"]) for e in got) == 5
    assert fin.last_statements == one


def test_the_accounts_list_is_one_statement_with_the_resolvers_answer(fin: Any) -> None:
    one, two = create_customer(fin, "Alpha"), create_customer(fin, "Beta")
    for customer, number in ((one, "FA-B"), (two, "FA-A"), (one, "FA-C")):
        account(fin, customer, number=number)
    fields = "id number currency cashBalance createdAt"
    for arguments in ("", f'(customerId: "{one}")'):
        compiled = fin.data("{ financialAccounts" + arguments + " { " + fields + " } }")["financialAccounts"]
        assert fin.last_statements == 1
        # `customer` has no SQL: the same list through `list_accounts` and the resolvers.
        resolved = fin.data("{ financialAccounts" + arguments + " { " + fields + " customer { id } } }")
        rows = resolved["financialAccounts"]
        owners = [row.pop("customer")["id"] for row in rows]
        assert rows == compiled and sorted(owners) == sorted([one, one, two] if not arguments else [one, one])
    assert [row["number"] for row in compiled] == ["FA-B", "FA-C"]  # by customer, then number


def test_the_migration_matches_the_models(saas_database_url: str) -> None:
    assert (MIGRATIONS / "fin_0001_instruments_accounts_ledger.py").exists()
    owner = create_engine(saas_database_url)
    try:
        with owner.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            differences = [d for d in compare_metadata(context, TenantModel.metadata) if "fin_" in repr(d)]
    finally:
        owner.dispose()
    assert differences == []


def test_every_plugin_table_has_forced_row_level_security_and_leads_with_the_tenant(saas_database_url: str) -> None:
    owner = create_engine(saas_database_url)
    try:
        with owner.connect() as conn:
            tables = conn.execute(
                text(
                    "SELECT relname, relrowsecurity, relforcerowsecurity FROM pg_class "
                    "WHERE relname LIKE 'fin\\_%' AND relkind = 'r' ORDER BY relname"
                )
            ).all()
            indexes = conn.execute(
                text("SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'fin\\_%'")
            ).all()
    finally:
        owner.dispose()
    assert [t.relname for t in tables] == [
        "fin_accounts", "fin_daily_closes", "fin_holdings", "fin_instruments", "fin_target_weights", "fin_transactions",
    ]  # fmt: skip
    assert all(t.relrowsecurity and t.relforcerowsecurity for t in tables), tables
    assert all("(tenant_id" in i.indexdef for i in indexes), indexes


NODE = "query($id: ID!) { node(id: $id) { id ... on FinInstrument { symbol lastPrice } ... on FinAccount { number cashBalance } ... on FinTransaction { kind amount } } }"


def test_node_reads_each_type_of_the_tenant_only_in_one_statement(fin: Any, saas_make_tenant: Any) -> None:
    acme = instrument(fin, "ACME")
    ingest(fin, [("ACME", "5", "2026-03-02T10:00:00Z")])
    acc = account(fin, number="N-1")
    record(fin, acc, "DEPOSIT", "2026-03-02T10:00:00Z", amount="12.5")
    transaction = fin.data(TRANSACTIONS, {"account": acc})["transactions"]["edges"][0]["node"]["id"]
    expected = {
        acme: {"symbol": "ACME", "lastPrice": "5.00000000"},
        acc: {"number": "N-1", "cashBalance": "12.50"},
        transaction: {"kind": "DEPOSIT", "amount": "12.50"},
    }
    stranger = saas_make_tenant().client
    enable_plugin(stranger, "finance")
    without = saas_make_tenant().client
    for node_id, fields in expected.items():
        assert fin.data(NODE, {"id": node_id})["node"] == {"id": node_id, **fields}
        assert fin.last_statements == 1
        assert stranger.error_codes(NODE, {"id": node_id}) == ["NOT_FOUND"]
        assert without.error_codes("query($id: ID!) { node(id: $id) { id } }", {"id": node_id}) == ["NOT_FOUND"]
    # A selection the compiler cannot map goes through the loaders, with the same answer.
    with_customer = "query($id: ID!) { node(id: $id) { ... on FinAccount { number customer { id } } } }"
    assert fin.data(with_customer, {"id": acc})["node"]["number"] == "N-1"


def test_compiled_and_resolved_instruments_read_the_same(fin: Any) -> None:
    acme = instrument(fin, "ACME")
    ingest(fin, [("ACME", "3.3333", "2026-03-02T16:00:00Z"), ("ACME", "3.1", "2026-03-03T10:00:00Z")])
    fields = "id symbol name assetClass currency lastPrice lastPriceAt previousClose change changePercent createdAt"
    compiled = fin.data(f"query($id: ID!) {{ node(id: $id) {{ ... on FinInstrument {{ {fields} }} }} }}", {"id": acme})[
        "node"
    ]
    listed = fin.data(f"{{ instruments {{ edges {{ node {{ {fields} }} }} }} }}")["instruments"]["edges"][0]["node"]
    assert compiled == listed
    assert compiled["changePercent"] == "-7.00"  # (3.1 - 3.3333) * 100 / 3.3333 = -6.999…


def test_changes_emit_their_events_in_the_outbox(fin: Any, tenant: Any) -> None:
    eq = instrument(fin, "ACME")
    ingest(fin, [("ACME", "5", "2026-03-02T10:00:00Z")])
    acc = account(fin)
    record(fin, acc, "DEPOSIT", "2026-03-02T10:00:00Z", amount="100")
    record(fin, acc, "BUY", "2026-03-02T11:00:00Z", instrumentId=eq, quantity="1", price="5")
    fin.data(
        'mutation($a: ID!) { setTargetAllocation(input: {accountId: $a, targets: [{assetClass: EQUITY, weight: "1"}]}) { targets { weight } } }',
        {"a": acc},
    )
    with tenant.session() as session:
        rows = session.execute(
            text("SELECT type, payload FROM outbox_events WHERE type LIKE 'fin.%' ORDER BY created_at, id")
        ).all()
    types = [row.type for row in rows]
    assert sorted(types) == sorted([
        "fin.instrument.created", "fin.quotes.ingested", "fin.account.opened",
        "fin.transaction.recorded", "fin.transaction.recorded", "fin.targets.set",
    ])  # fmt: skip
    buy = next(
        r.payload for r in rows if r.type == "fin.transaction.recorded" and r.payload["transaction"]["kind"] == "BUY"
    )
    assert buy["transaction"]["amount"] == "5.00" and buy["account"]["cashBalance"] == "95.00"
    assert buy["transaction"]["id"].startswith("Rmlu")  # a global id (FinTransaction:…), never a raw UUID
    ingested = next(r.payload for r in rows if r.type == "fin.quotes.ingested")
    assert ingested == {"accepted": 1, "rejected": 0, "updatedSymbols": ["ACME"], "updatedCount": 1}


def test_the_demo_creates_instruments_with_a_year_of_prices_accounts_and_transactions(fin: Any, tenant: Any) -> None:
    from saas_finance.hooks import saas_demo

    customers = [
        uuid.UUID(str(__import__("base64").b64decode(create_customer(fin, f"Demo {n}")).decode().split(":")[1]))
        for n in range(3)
    ]
    owner = Principal(tenant_id=tenant.id, label="demo", permissions=frozenset({
        "fin:market:read", "fin:market:write", "fin:accounts:read", "fin:accounts:write",
    }))  # fmt: skip
    with tenant.session() as session:
        demo = DemoContext(
            tenant_id=tenant.id, session=session, owner=owner, members=(), customer_ids=tuple(customers),
            rng=random.Random(7), now=datetime.now(UTC),
        )  # fmt: skip
        context = PluginContext(tenant_id=tenant.id, session=session, settings={}, emit=lambda *_: None)
        saas_demo(context, demo)
        session.commit()
    instruments = fin.data(INSTRUMENTS, {"first": 20})["instruments"]["edges"]
    assert len(instruments) == 8 and all(e["node"]["lastPrice"] for e in instruments)
    assert count_rows(tenant, "fin_daily_closes") >= 8 * 250  # a year of weekdays each
    accounts = fin.data(ACCOUNTS)["financialAccounts"]
    assert len(accounts) == 3
    assert count_rows(tenant, "fin_transactions") >= 3 * 8
    assert count_rows(tenant, "fin_target_weights") == 4
