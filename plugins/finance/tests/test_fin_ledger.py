"""Accounts and the transaction ledger: cash and holdings, race-safe refusals, bad input, paging, isolation."""

from __future__ import annotations

from typing import Any

import pytest
from fin_helpers import (
    ACCOUNTS,
    OPEN,
    RECORD,
    TRANSACTIONS,
    account,
    count_rows,
    create_customer,
    instrument,
    ok,
    record,
    record_input,
    refused,
    run_concurrently,
)

DAY = "2026-03-02T10:00:00Z"


def _funded(client: Any, cash: str = "1000") -> str:
    acc = account(client)
    record(client, acc, "DEPOSIT", DAY, amount=cash)
    return acc


def test_each_kind_moves_cash_as_documented(fin: Any) -> None:
    eq = instrument(fin, "EQ1")
    acc = account(fin)
    steps = [
        ("DEPOSIT", {"amount": "1000", "fee": "1"}, "999.00"),  # + amount - fee
        (
            "BUY",
            {"instrumentId": eq, "quantity": "3", "price": "12.345", "fee": "2"},
            "959.96",
        ),  # - 37.04 (37.035 → cent) - 2
        ("SELL", {"instrumentId": eq, "quantity": "1", "price": "20", "fee": "0.5"}, "979.46"),  # + 20 - 0.50
        ("DIVIDEND", {"instrumentId": eq, "amount": "3.10"}, "982.56"),
        ("FEE", {"amount": "2.56"}, "980.00"),
        ("WITHDRAWAL", {"amount": "979", "fee": "1"}, "0.00"),
    ]
    for minute, (kind, values, cash) in enumerate(steps):
        payload = record(fin, acc, kind, f"2026-03-02T10:{minute:02d}:00Z", **values)
        assert payload["account"]["cashBalance"] == cash, (kind, payload)
        assert payload["transaction"]["cashAfter"] == cash
    buy = fin.data(TRANSACTIONS, {"account": acc, "filter": {"kind": "BUY"}})["transactions"]["edges"][0]["node"]
    assert (buy["quantity"], buy["price"], buy["amount"], buy["fee"]) == ("3.00000000", "12.34500000", "37.04", "2.00")


def test_a_sale_of_more_than_is_held_and_a_withdrawal_of_more_than_the_cash_are_refused(fin: Any, tenant: Any) -> None:
    eq = instrument(fin, "EQ1")
    acc = _funded(fin, "100")
    record(fin, acc, "BUY", DAY, instrumentId=eq, quantity="2", price="10")
    sell = record_input(acc, "SELL", DAY, instrumentId=eq, quantity="2.5", price="10")
    assert refused(fin, RECORD, sell, "recordTransaction") == [(["input", "quantity"], "INSUFFICIENT_HOLDINGS")]
    withdraw = record_input(acc, "WITHDRAWAL", DAY, amount="80.01")  # 80 left
    assert refused(fin, RECORD, withdraw, "recordTransaction") == [(["input", "amount"], "INSUFFICIENT_CASH")]
    buy = record_input(acc, "BUY", DAY, instrumentId=eq, quantity="8", price="10", fee="0.01")
    assert refused(fin, RECORD, buy, "recordTransaction") == [(["input", "amount"], "INSUFFICIENT_CASH")]
    fee = record_input(acc, "FEE", DAY, amount="80.01")
    assert refused(fin, RECORD, fee, "recordTransaction") == [(["input", "amount"], "INSUFFICIENT_CASH")]
    assert count_rows(tenant, "fin_transactions") == 2
    assert count_rows(tenant, "fin_holdings", "quantity = 2") == 1


def test_concurrent_withdrawals_never_overdraw(fin: Any, tenant: Any) -> None:
    acc = _funded(fin, "100")
    results = run_concurrently(fin, RECORD, [record_input(acc, "WITHDRAWAL", DAY, amount="30") for _ in range(6)])
    codes = sorted(e["code"] for r in results for e in r["data"]["recordTransaction"]["userErrors"])
    assert codes == ["INSUFFICIENT_CASH"] * 3
    assert fin.data(ACCOUNTS)["financialAccounts"][0]["cashBalance"] == "10.00"
    assert count_rows(tenant, "fin_transactions", "kind = 'withdrawal'") == 3


def test_concurrent_sales_never_sell_more_than_is_held(fin: Any, tenant: Any) -> None:
    eq = instrument(fin, "EQ1")
    acc = _funded(fin, "1000")
    record(fin, acc, "BUY", DAY, instrumentId=eq, quantity="5", price="10")
    sale = record_input(acc, "SELL", DAY, instrumentId=eq, quantity="2", price="10")
    results = run_concurrently(fin, RECORD, [sale] * 5)
    codes = sorted(e["code"] for r in results for e in r["data"]["recordTransaction"]["userErrors"])
    assert codes == ["INSUFFICIENT_HOLDINGS"] * 3
    assert count_rows(tenant, "fin_holdings", "quantity = 1") == 1
    assert fin.data(ACCOUNTS)["financialAccounts"][0]["cashBalance"] == "990.00"


def test_the_ledger_refuses_update_and_delete_in_the_database(fin: Any, tenant: Any) -> None:
    from sqlalchemy import text
    from sqlalchemy.exc import DBAPIError

    _funded(fin)
    for statement in ("UPDATE fin_transactions SET amount = 5", "DELETE FROM fin_transactions"):
        with pytest.raises(DBAPIError, match="append-only"):
            with tenant.session() as session:
                session.execute(text(statement))
    for statement in ("UPDATE fin_accounts SET cash_balance = -1", "UPDATE fin_holdings SET quantity = -1"):
        instrument_id = instrument(fin)
        acc = _funded(fin)
        record(fin, acc, "BUY", DAY, instrumentId=instrument_id, quantity="1", price="1")
        with pytest.raises(DBAPIError, match="check constraint"):
            with tenant.session() as session:
                session.execute(text(statement))
    assert count_rows(tenant, "fin_transactions", "amount = 1000") == 3


@pytest.mark.parametrize(
    ("kind", "values", "field", "code"),
    [
        ("DEPOSIT", {}, "amount", "REQUIRED"),
        ("DEPOSIT", {"amount": "0"}, "amount", "INVALID"),
        ("DEPOSIT", {"amount": "-5"}, "amount", "INVALID"),
        ("DEPOSIT", {"amount": "1.001"}, "amount", "INVALID"),
        ("DEPOSIT", {"amount": "1e20"}, "amount", "INVALID"),
        ("DEPOSIT", {"amount": "5", "fee": "-1"}, "fee", "INVALID"),
        ("DEPOSIT", {"amount": "5", "quantity": "1"}, "quantity", "INVALID"),
        ("WITHDRAWAL", {"amount": "5", "instrumentId": "INSTRUMENT"}, "instrumentId", "INVALID"),
        ("BUY", {"quantity": "1", "price": "1"}, "instrumentId", "REQUIRED"),
        ("BUY", {"instrumentId": "INSTRUMENT", "price": "1"}, "quantity", "REQUIRED"),
        ("BUY", {"instrumentId": "INSTRUMENT", "quantity": "1"}, "price", "REQUIRED"),
        ("BUY", {"instrumentId": "INSTRUMENT", "quantity": "0.000000001", "price": "1"}, "quantity", "INVALID"),
        ("BUY", {"instrumentId": "INSTRUMENT", "quantity": "1", "price": "1", "amount": "2"}, "amount", "INVALID"),
        ("BUY", {"instrumentId": "USD_INSTRUMENT", "quantity": "1", "price": "1"}, "instrumentId", "CURRENCY_MISMATCH"),
        (
            "BUY",
            {"instrumentId": "RmluSW5zdHJ1bWVudDpub3BlCg==", "quantity": "1", "price": "1"},
            "instrumentId",
            "NOT_FOUND",
        ),
        ("DIVIDEND", {"amount": "3"}, "instrumentId", "REQUIRED"),
    ],
)
def test_bad_input_is_a_user_error_and_writes_nothing(
    fin: Any, tenant: Any, kind: str, values: dict[str, str], field: str, code: str
) -> None:
    ids = {"INSTRUMENT": instrument(fin), "USD_INSTRUMENT": instrument(fin, currency="USD")}
    acc = _funded(fin)
    resolved = {k: ids.get(v, v) for k, v in values.items()}
    assert refused(fin, RECORD, record_input(acc, kind, DAY, **resolved), "recordTransaction") == [
        (["input", field], code)
    ]
    assert count_rows(tenant, "fin_transactions") == 1
    assert fin.data(ACCOUNTS)["financialAccounts"][0]["cashBalance"] == "1000.00"


def test_time_order_unknown_account_and_wrong_types(fin: Any, tenant: Any) -> None:
    acc = _funded(fin)
    earlier = record_input(acc, "DEPOSIT", "2026-03-01T10:00:00Z", amount="5")
    assert refused(fin, RECORD, earlier, "recordTransaction") == [(["input", "occurredAt"], "OUT_OF_ORDER")]
    future = record_input(acc, "DEPOSIT", "2999-01-01T00:00:00Z", amount="5")
    assert refused(fin, RECORD, future, "recordTransaction") == [(["input", "occurredAt"], "INVALID")]
    unknown = record_input("RmluQWNjb3VudDpub3BlCg==", "DEPOSIT", DAY, amount="5")
    assert refused(fin, RECORD, unknown, "recordTransaction") == [(["input", "accountId"], "NOT_FOUND")]
    wrong_type = record_input(create_customer(fin), "DEPOSIT", DAY, amount="5")
    assert refused(fin, RECORD, wrong_type, "recordTransaction") == [(["input", "accountId"], "NOT_FOUND")]
    assert fin.error_codes(RECORD, record_input(acc, "DEPOSIT", DAY, amount="lots")) == ["BAD_USER_INPUT"]
    assert fin.error_codes(RECORD, record_input(acc, "GIFT", DAY, amount="5")) == ["BAD_USER_INPUT"]
    assert count_rows(tenant, "fin_transactions") == 1


def test_opening_accounts_checks_its_input(fin: Any, other_fin: Any, tenant: Any) -> None:
    customer = create_customer(fin)
    ok(fin, OPEN, {"input": {"customerId": customer, "currency": "EUR", "number": "ACC-1"}}, "openFinancialAccount")
    cases = [
        ({"customerId": customer, "currency": "EUR", "number": "ACC-1"}, "number", "TAKEN"),
        ({"customerId": customer, "currency": "EUR", "number": ""}, "number", "INVALID"),
        ({"customerId": customer, "currency": "EUR", "number": "A" * 33}, "number", "TOO_LONG"),
        ({"customerId": customer, "currency": "euro"}, "currency", "INVALID"),
        ({"customerId": customer, "currency": ""}, "currency", "INVALID"),
        ({"customerId": "Q3VzdG9tZXI6bm9wZQo=", "currency": "EUR"}, "customerId", "NOT_FOUND"),
    ]
    for values, field, code in cases:
        assert refused(fin, OPEN, {"input": values}, "openFinancialAccount") == [(["input", field], code)], values
    # Another tenant cannot open an account on this tenant's customer.
    variables = {"input": {"customerId": customer, "currency": "EUR"}}
    assert refused(other_fin, OPEN, variables, "openFinancialAccount") == [(["input", "customerId"], "NOT_FOUND")]
    assert count_rows(tenant, "fin_accounts") == 1


def test_transactions_filter_and_page_newest_first(fin: Any) -> None:
    eq, other = instrument(fin, "EQ1"), instrument(fin, "EQ2")
    acc = _funded(fin, "10000")
    for day in range(3, 9):
        record(
            fin,
            acc,
            "BUY",
            f"2026-03-{day:02d}T10:00:00Z",
            instrumentId=eq if day % 2 else other,
            quantity="1",
            price=str(day),
        )
    seen, after = [], None
    while True:
        page = fin.data(TRANSACTIONS, {"account": acc, "first": 3, "after": after})["transactions"]
        seen += [e["node"]["price"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == [f"{d}.00000000" for d in (8, 7, 6, 5, 4, 3)] + [None]
    flt = {"instrumentId": eq, "from": "2026-03-04", "to": "2026-03-07"}
    got = fin.data(TRANSACTIONS, {"account": acc, "filter": flt})["transactions"]["edges"]
    assert [(e["node"]["instrument"]["symbol"], e["node"]["price"]) for e in got] == [
        ("EQ1", "7.00000000"), ("EQ1", "5.00000000"),
    ]  # fmt: skip
    deposits = fin.data(TRANSACTIONS, {"account": acc, "filter": {"kind": "DEPOSIT"}})["transactions"]["edges"]
    assert [e["node"]["amount"] for e in deposits] == ["10000.00"]


def test_statements_per_page_do_not_grow_with_its_size(fin: Any) -> None:
    eq = instrument(fin, "EQ1")
    acc = _funded(fin, "10000")
    for minute in range(12):
        record(fin, acc, "BUY", f"2026-03-02T11:{minute:02d}:00Z", instrumentId=eq, quantity="1", price="1")
    fin.data(TRANSACTIONS, {"account": acc, "first": 2})
    small = fin.last_statements
    fin.data(TRANSACTIONS, {"account": acc, "first": 12})
    assert fin.last_statements == small


def test_another_tenant_sees_no_account_and_cannot_use_its_ids(fin: Any, other_fin: Any) -> None:
    eq = instrument(fin, "EQ1")
    acc = _funded(fin)
    record(fin, acc, "BUY", DAY, instrumentId=eq, quantity="1", price="1")
    assert other_fin.data(ACCOUNTS)["financialAccounts"] == []
    assert other_fin.error_codes(TRANSACTIONS, {"account": acc}) == ["NOT_FOUND"]
    theirs = _funded(other_fin)
    own_instrument = instrument(other_fin, "EQ1")
    assert refused(other_fin, RECORD, record_input(acc, "DEPOSIT", DAY, amount="5"), "recordTransaction") == [
        (["input", "accountId"], "NOT_FOUND")
    ]
    buy = record_input(theirs, "BUY", DAY, instrumentId=eq, quantity="1", price="1")
    assert refused(other_fin, RECORD, buy, "recordTransaction") == [(["input", "instrumentId"], "NOT_FOUND")]
    assert own_instrument


def test_a_sales_rep_sees_the_accounts_of_their_customers_only(fin: Any, tenant: Any) -> None:
    from saas.plugin_api.testing import TEST_PASSWORD

    invited = fin.data(
        'mutation { addMember(input: {email: "rep@fin.example.com", role: SALES}) { invitationToken } }'
    )["addMember"]["invitationToken"]
    fin.as_token(None).data(
        "mutation($t: String!, $p: String!) { acceptInvitation(input: {token: $t, password: $p}) { member { id } } }",
        {"t": invited, "p": TEST_PASSWORD},
    )
    rep = fin.login("rep@fin.example.com", TEST_PASSWORD, tenant.slug)
    mine = rep.data('mutation { createCustomer(input: {name: "Rep customer"}) { customer { id } } }')
    theirs_customer = create_customer(fin, "Owner's customer")
    fin.data(
        "mutation($c: ID!, $o: ID) { updateCustomer(input: {id: $c, ownerId: $o, version: 1}) { customer { id } } }",
        {"c": theirs_customer, "o": fin.data("{ me { member { id } } }")["me"]["member"]["id"]},
    )
    account(fin, mine["createCustomer"]["customer"]["id"], number="REP-1")
    hidden = account(fin, theirs_customer, number="OWN-1")
    assert [a["number"] for a in rep.data(ACCOUNTS)["financialAccounts"]] == ["REP-1"]
    assert rep.error_codes(TRANSACTIONS, {"account": hidden}) == ["NOT_FOUND"]


COMPILED_TRANSACTIONS = """query($account: ID!, $first: Int, $after: String, $filter: FinTransactionFilterInput) {
  transactions(accountId: $account, first: $first, after: $after, filter: $filter) {
    edges { cursor node { id kind quantity price amount fee cashAfter occurredAt actor createdAt
      instrument { id symbol lastPrice } } }
    pageInfo { hasNextPage hasPreviousPage startCursor endCursor } } }"""
# The same selection with the account, which the compiled read does not map: `list_transactions` answers.
RESOLVED_TRANSACTIONS = COMPILED_TRANSACTIONS.replace("createdAt\n", "createdAt account { id }\n")


def _without_account(page: dict[str, Any]) -> dict[str, Any]:
    edges = [{**edge, "node": {k: v for k, v in edge["node"].items() if k != "account"}} for edge in page["edges"]]
    return {**page, "edges": edges}


def test_transactions_are_one_statement_at_any_page_size_with_the_services_answer(fin: Any) -> None:
    eq, other = instrument(fin, "EQ1"), instrument(fin, "EQ2")
    acc = _funded(fin, "10000")
    for minute in range(8):  # two rows at each moment: the ledger's entry order breaks the tie
        record(fin, acc, "BUY", f"2026-03-03T11:{minute // 2:02d}:00Z", instrumentId=eq if minute % 2 else other,
               quantity="1", price=str(minute + 1))  # fmt: skip
    two = fin.data(COMPILED_TRANSACTIONS, {"account": acc, "first": 2})["transactions"]
    assert fin.last_statements == 1
    nine = fin.data(COMPILED_TRANSACTIONS, {"account": acc, "first": 9})["transactions"]
    assert fin.last_statements == 1
    assert two["edges"] == nine["edges"][:2] and len(nine["edges"]) == 9
    assert [e["node"]["price"] for e in nine["edges"]] == [f"{p}.00000000" for p in (8, 7, 6, 5, 4, 3, 2, 1)] + [None]
    assert nine["edges"][-1]["node"]["instrument"] is None and nine["edges"][0]["node"]["instrument"]["symbol"] == "EQ1"
    for flt in (None, {"instrumentId": eq}, {"kind": "DEPOSIT"}, {"from": "2026-03-03", "to": "2026-03-03"}):
        after = None
        for _ in range(5):
            variables = {"account": acc, "first": 3, "after": after, "filter": flt}
            compiled = fin.data(COMPILED_TRANSACTIONS, variables)["transactions"]
            assert fin.last_statements == 1
            assert _without_account(fin.data(RESOLVED_TRANSACTIONS, variables)["transactions"]) == compiled, flt
            if not compiled["pageInfo"]["hasNextPage"]:
                break
            after = compiled["pageInfo"]["endCursor"]


def test_compiled_transactions_of_an_unseen_account_are_not_found(fin: Any, other_fin: Any, tenant: Any) -> None:
    acc = _funded(fin)
    page = fin.data(COMPILED_TRANSACTIONS, {"account": acc, "first": 1})["transactions"]
    assert len(page["edges"]) == 1
    # Another tenant: NOT_FOUND for the account, nothing after its cursor on an account of its own.
    assert other_fin.error_codes(COMPILED_TRANSACTIONS, {"account": acc, "first": 5}) == ["NOT_FOUND"]
    theirs = _funded(other_fin)
    cursor = page["edges"][0]["cursor"]
    assert (
        other_fin.data(COMPILED_TRANSACTIONS, {"account": theirs, "first": 5, "after": cursor})["transactions"]["edges"]
        == []
    )
    # An account that exists nowhere is NOT_FOUND too.
    assert fin.error_codes(COMPILED_TRANSACTIONS, {"account": account_gid_of_nothing(), "first": 5}) == ["NOT_FOUND"]


def account_gid_of_nothing() -> str:
    import uuid

    from saas.plugin_api import to_global_id

    return to_global_id("FinAccount", uuid.uuid4())
