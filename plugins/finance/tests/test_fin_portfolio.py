"""Portfolio analysis and rebalancing, every figure checked against a hand computation written here.

The fixed history (EUR account; AAA an equity, BBB a bond; closes at 16:00 UTC):

    day         AAA     BBB     ledger
    2026-03-02  10.00   100.00  DEPOSIT 10000; BUY 100 AAA @ 10 fee 5; BUY 20 BBB @ 100
    2026-03-03  11.00   101.00  BUY 50 AAA @ 11 fee 5
    2026-03-04   9.50   100.50  SELL 120 AAA @ 9.50 fee 5; DEPOSIT 1000
    2026-03-05  12.00   102.00  DIVIDEND 30 on BBB; WITHDRAWAL 500 fee 1
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

import pytest
from fin_helpers import (
    PERFORMANCE,
    PLAN,
    PORTFOLIO,
    TARGETS,
    account,
    enable,
    ingest,
    instrument,
    ok,
    record,
    refused,
)

D = Decimal
SIX = D("0.000001")
EIGHT = D("0.00000001")
CLOSES = {
    "2026-03-02": ("10.00", "100.00"),
    "2026-03-03": ("11.00", "101.00"),
    "2026-03-04": ("9.50", "100.50"),
    "2026-03-05": ("12.00", "102.00"),
}


def r6(value: Decimal) -> str:
    """A ratio as the API writes it: 6 decimals, halves away from zero."""
    return str(value.quantize(SIX, rounding=ROUND_HALF_UP))


def r8(value: Decimal) -> str:
    """An average cost as the API writes it: 8 decimals."""
    return str(value.quantize(EIGHT, rounding=ROUND_HALF_UP))


def _history(client: Any) -> str:
    instrument(client, "AAA", "EQUITY")
    bbb = instrument(client, "BBB", "BOND")
    quotes = []
    for day, (a, b) in CLOSES.items():
        quotes += [("AAA", a, f"{day}T16:00:00Z"), ("BBB", b, f"{day}T16:00:00Z")]
    ingest(client, quotes)
    ids = {
        e["node"]["symbol"]: e["node"]["id"]
        for e in client.data("{ instruments { edges { node { id symbol } } } }")["instruments"]["edges"]
    }
    acc = account(client)
    record(client, acc, "DEPOSIT", "2026-03-02T09:00:00Z", amount="10000")
    record(client, acc, "BUY", "2026-03-02T10:00:00Z", instrumentId=ids["AAA"], quantity="100", price="10", fee="5")
    record(client, acc, "BUY", "2026-03-02T11:00:00Z", instrumentId=bbb, quantity="20", price="100")
    record(client, acc, "BUY", "2026-03-03T10:00:00Z", instrumentId=ids["AAA"], quantity="50", price="11", fee="5")
    record(client, acc, "SELL", "2026-03-04T10:00:00Z", instrumentId=ids["AAA"], quantity="120", price="9.50", fee="5")
    record(client, acc, "DEPOSIT", "2026-03-04T12:00:00Z", amount="1000")
    record(client, acc, "DIVIDEND", "2026-03-05T10:00:00Z", instrumentId=bbb, amount="30")
    record(client, acc, "WITHDRAWAL", "2026-03-05T11:00:00Z", amount="500", fee="1")
    return acc


def test_fifo_portfolio_at_the_last_prices(fin: Any) -> None:
    acc = _history(fin)
    got = fin.data(PORTFOLIO, {"account": acc})["portfolio"]
    # Cash: 10000 - (1000 + 5) - 2000 - (550 + 5) + (1140 - 5) + 1000 + 30 - (500 + 1) = 8104.00
    cash = D(10000) - 1005 - 2000 - 555 + 1135 + 1000 + 30 - 501
    assert cash == D("8104")
    # FIFO: the sale of 120 takes lot 1 whole (100 units, cost 1005) and 20 of lot 2 (50 units, cost 555):
    # cost 1005 + 555 * 20 / 50 = 1227; proceeds 120 * 9.50 - 5 = 1135; realised 1135 - 1227 = -92.
    realized = (D(120) * D("9.50") - 5) - (D(1005) + D(555) * 20 / 50)
    # Left: 30 AAA costing 555 - 222 = 333 (average 11.10), worth 30 * 12 = 360; 20 BBB costing 2000, worth 2040.
    aaa_cost, aaa_value = D(555) - D(222), D(30) * 12
    bbb_cost, bbb_value = D(2000), D(20) * 102
    total = aaa_value + bbb_value + cash  # 10504
    assert got == {
        "marketValue": "2400.00",
        "costBasis": "2333.00",
        "unrealizedPnl": "67.00",
        "realizedPnl": f"{realized:.2f}",
        "cashBalance": "8104.00",
        "positions": [
            {"instrument": {"symbol": "AAA"}, "quantity": "30.00000000", "averageCost": r8(aaa_cost / 30),
             "marketValue": "360.00", "unrealizedPnl": f"{aaa_value - aaa_cost:.2f}", "weight": r6(aaa_value / total)},
            {"instrument": {"symbol": "BBB"}, "quantity": "20.00000000", "averageCost": r8(bbb_cost / 20),
             "marketValue": "2040.00", "unrealizedPnl": f"{bbb_value - bbb_cost:.2f}", "weight": r6(bbb_value / total)},
        ],
        "allocation": [
            {"assetClass": "EQUITY", "value": "360.00", "weight": r6(aaa_value / total)},
            {"assetClass": "BOND", "value": "2040.00", "weight": r6(bbb_value / total)},
            {"assetClass": "CASH_EQUIVALENT", "value": "8104.00", "weight": r6(cash / total)},
        ],
    }  # fmt: skip
    assert realized == D(-92)


def test_average_cost_is_a_tenant_setting(fin: Any) -> None:
    enable(fin, {"costMethod": "AVERAGE_COST"})
    acc = _history(fin)
    got = fin.data(PORTFOLIO, {"account": acc})["portfolio"]
    # Average cost: 150 units cost 1005 + 555 = 1560 (10.40 each); the sale of 120 costs 1248:
    # realised 1135 - 1248 = -113; 30 units left costing 312.
    average = (D(1005) + D(555)) / 150
    realized = D(1135) - 120 * average
    left = 30 * average
    assert (realized, left) == (D(-113), D(312))
    assert got["realizedPnl"] == "-113.00"
    assert got["positions"][0] | {"weight": None} == {
        "instrument": {"symbol": "AAA"}, "quantity": "30.00000000", "averageCost": r8(average),
        "marketValue": "360.00", "unrealizedPnl": f"{360 - left:.2f}", "weight": None,
    }  # fmt: skip
    assert got["costBasis"] == f"{left + 2000:.2f}"


def test_as_of_values_the_ledger_of_that_day_at_its_closes(fin: Any) -> None:
    acc = _history(fin)
    got = fin.data(PORTFOLIO, {"account": acc, "asOf": "2026-03-03"})["portfolio"]
    # Up to 2026-03-03: cash 10000 - 1005 - 2000 - 555 = 6440; 150 AAA (cost 1560) at 11; 20 BBB at 101.
    assert got["cashBalance"] == f"{D(10000) - 1005 - 2000 - 555:.2f}"
    assert [(p["instrument"]["symbol"], p["marketValue"], p["unrealizedPnl"]) for p in got["positions"]] == [
        ("AAA", f"{150 * D(11):.2f}", f"{150 * D(11) - 1560:.2f}"),
        ("BBB", f"{20 * D(101):.2f}", f"{20 * D(101) - 2000:.2f}"),
    ]
    assert got["realizedPnl"] == "0.00"


def test_time_weighted_return_volatility_and_drawdown(fin: Any) -> None:
    acc = _history(fin)
    got = fin.data(PERFORMANCE, {"account": acc, "from": "2026-03-02", "to": "2026-03-05"})
    # Daily values (units * close + cash) and the deposits/withdrawals since the previous day:
    v1 = D(100) * 10 + D(20) * 100 + (D(10000) - 1005 - 2000)  # 9995
    v2 = D(150) * 11 + D(20) * 101 + D(6440)  # 10110, no flow
    v3 = D(30) * D("9.50") + D(20) * D("100.50") + D(8575)  # 10870, deposit +1000
    v4 = D(30) * 12 + D(20) * 102 + D(8104)  # 10504, withdrawal -501
    assert (v1, v2, v3, v4) == (D(9995), D(10110), D(10870), D(10504))
    r2 = v2 / v1 - 1
    r3 = (v3 - 1000) / v2 - 1
    r4 = (v4 + 501) / v3 - 1
    twr = (1 + r2) * (1 + r3) * (1 + r4) - 1
    mean = (r2 + r3 + r4) / 3
    variance = ((r2 - mean) ** 2 + (r3 - mean) ** 2 + (r4 - mean) ** 2) / 2
    context = Context(prec=28)
    volatility = variance.sqrt(context) * D(252).sqrt(context)
    # The index peaks after day 2 and falls by -r3 on day 3; day 4 recovers only part of it.
    drawdown = 1 - (1 + r3)
    assert (1 + r2) * (1 + r3) * (1 + r4) < 1 + r2
    assert got["portfolio"]["performance"] == {
        "timeWeightedReturn": r6(twr),
        "annualizedVolatility": r6(volatility),
        "maxDrawdown": r6(drawdown),
    }


def test_performance_of_a_single_day_has_no_volatility(fin: Any) -> None:
    acc = _history(fin)
    got = fin.data(PERFORMANCE, {"account": acc, "from": "2026-03-05", "to": "2026-03-05"})
    assert got["portfolio"]["performance"] == {
        "timeWeightedReturn": "0.000000", "annualizedVolatility": None, "maxDrawdown": "0.000000",
    }  # fmt: skip


# -- rebalancing --------------------------------------------------------------------------------


def _targets(client: Any, acc: str, weights: dict[str, str]) -> dict[str, Any]:
    variables = {"input": {"accountId": acc, "targets": [{"assetClass": c, "weight": w} for c, w in weights.items()]}}
    return client.data(TARGETS, variables)["setTargetAllocation"]


def _rebalance_account(client: Any) -> str:
    """Cash 1000; 10 EQA at 50 (500); 5 BND at 100 (500); FND (a fund at 30) not held: worth 2000."""
    eqa, bnd = instrument(client, "EQA", "EQUITY"), instrument(client, "BND", "BOND")
    instrument(client, "FND", "FUND")
    ingest(client, [("EQA", "50", "2026-03-02T16:00:00Z"), ("BND", "100", "2026-03-02T16:00:00Z"),
                    ("FND", "30", "2026-03-02T16:00:00Z")])  # fmt: skip
    acc = account(client)
    record(client, acc, "DEPOSIT", "2026-03-02T17:00:00Z", amount="2000")
    record(client, acc, "BUY", "2026-03-02T17:01:00Z", instrumentId=eqa, quantity="10", price="50")
    record(client, acc, "BUY", "2026-03-02T17:02:00Z", instrumentId=bnd, quantity="5", price="100")
    return acc


def test_rebalancing_sells_the_overweight_and_buys_whole_fund_units_within_the_cash(fin: Any) -> None:
    acc = _rebalance_account(fin)
    assert fin.data(PLAN, {"account": acc})["rebalancePlan"] == []  # no targets yet
    ok(fin, TARGETS, {"input": {"accountId": acc, "targets": [
        {"assetClass": "EQUITY", "weight": "0.1"}, {"assetClass": "BOND", "weight": "0.35"},
        {"assetClass": "FUND", "weight": "0.55"},
    ]}}, "setTargetAllocation")  # fmt: skip
    plan = fin.data(PLAN, {"account": acc})["rebalancePlan"]
    # Total 2000. Equity: 500 held, 200 wanted → sell 300 / 50 = 6 units (+300 cash: 1300 to spend).
    # Bond: 500 held, 700 wanted → buy 200 / 100 = 2 units (bonds may be fractional; here exact).
    # Fund: 1100 wanted → 1100 / 30 = 36.67 → 36 whole units (1080). Left: 1300 - 200 - 1080 = 20 < 30.
    assert plan == [
        {"instrument": {"symbol": "EQA"}, "side": "SELL", "quantity": "6", "estimatedAmount": "300.00"},
        {"instrument": {"symbol": "BND"}, "side": "BUY", "quantity": "2.00000000", "estimatedAmount": "200.00"},
        {"instrument": {"symbol": "FND"}, "side": "BUY", "quantity": "36", "estimatedAmount": "1080.00"},
    ]
    bought = sum(D(t["estimatedAmount"]) for t in plan if t["side"] == "BUY")
    sold = sum(D(t["estimatedAmount"]) for t in plan if t["side"] == "SELL")
    assert bought <= D(1000) + sold


def test_rebalancing_never_plans_to_spend_more_cash_than_there_is(fin: Any) -> None:
    eqa = instrument(fin, "EQA", "EQUITY")
    ingest(fin, [("EQA", "30", "2026-03-02T16:00:00Z")])
    acc = account(fin)
    record(fin, acc, "DEPOSIT", "2026-03-02T17:00:00Z", amount="100")
    ok(
        fin,
        TARGETS,
        {"input": {"accountId": acc, "targets": [{"assetClass": "EQUITY", "weight": "1"}]}},
        "setTargetAllocation",
    )
    # 100 / 30 = 3.33: three whole shares (90.00); a fourth would cost 120 > 100.
    assert fin.data(PLAN, {"account": acc})["rebalancePlan"] == [
        {"instrument": {"symbol": "EQA"}, "side": "BUY", "quantity": "3", "estimatedAmount": "90.00"}
    ]
    assert eqa


@pytest.mark.parametrize(
    ("weights", "field", "code"),
    [
        ({"EQUITY": "0.5", "BOND": "0.4"}, ["input", "targets"], "WEIGHTS_NOT_ONE"),
        ({"EQUITY": "0.7", "BOND": "0.4"}, ["input", "targets"], "WEIGHTS_NOT_ONE"),
        ({"EQUITY": "1.5", "BOND": "-0.5"}, ["input", "targets", "0", "weight"], "INVALID"),
        ({"EQUITY": "0.333333333", "BOND": "0.666666667"}, ["input", "targets", "0", "weight"], "INVALID"),
        ({}, ["input", "targets"], "REQUIRED"),
    ],
)
def test_target_weights_must_sum_to_one(
    fin: Any, tenant: Any, weights: dict[str, str], field: list[str], code: str
) -> None:
    from fin_helpers import count_rows

    acc = account(fin)
    payload = _targets(fin, acc, weights)
    assert [(e["field"], e["code"]) for e in payload["userErrors"]] == [(field, code)]
    assert count_rows(tenant, "fin_target_weights") == 0


def test_a_class_named_twice_is_refused(fin: Any) -> None:
    acc = account(fin)
    variables = {"input": {"accountId": acc, "targets": [
        {"assetClass": "EQUITY", "weight": "0.5"}, {"assetClass": "EQUITY", "weight": "0.5"},
    ]}}  # fmt: skip
    assert refused(fin, TARGETS, variables, "setTargetAllocation") == [
        (["input", "targets", "1", "assetClass"], "DUPLICATE")
    ]


def test_another_tenant_cannot_read_or_set_this_accounts_portfolio(fin: Any, other_fin: Any) -> None:
    acc = _rebalance_account(fin)
    for query, variables in (
        (PORTFOLIO, {"account": acc}),
        (PLAN, {"account": acc}),
        (PERFORMANCE, {"account": acc, "from": "2026-03-01", "to": "2026-03-05"}),
    ):
        assert other_fin.error_codes(query, variables) == ["NOT_FOUND"]
    assert refused(other_fin, TARGETS, {"input": {"accountId": acc, "targets": [{"assetClass": "EQUITY", "weight": "1"}]}},
                   "setTargetAllocation") == [(["input", "accountId"], "NOT_FOUND")]  # fmt: skip
