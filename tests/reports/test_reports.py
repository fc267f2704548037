"""Each report's figures against values worked out by hand from the dataset in support.py
(its docstring lists every opportunity and installment), per role, per tenant, per date edge."""

from __future__ import annotations

import re
import uuid
from datetime import timedelta
from typing import Any

import pytest

from saas.runtime import Runtime
from saas.schema.relay import to_global_id
from tests.conftest import GraphQLClient, TenantHandle, add_member
from tests.reports.support import TODAY, YESTERDAY, Dataset, build, build_other

PIPELINE = """query($filter: ReportFilterInput) {
  pipelineReport(filter: $filter) { stage { name } currency count amount weightedAmount }
}"""
TREND = """query($period: TrendPeriod!, $filter: ReportFilterInput) {
  salesTrend(period: $period, filter: $filter) { periodStart currency wonCount wonAmount }
}"""
LEADERBOARD = """query($filter: ReportFilterInput) {
  repLeaderboard(filter: $filter) { member { id } currency wonCount wonAmount openPipeline }
}"""
COLLECTION = """query($filter: ReportFilterInput) {
  paymentCollection(filter: $filter) {
    currency due received overdue overdueCount
    byCurrency { currency due received overdue overdueCount }
  }
}"""
STAGES = ("Needs discovery", "Proposal", "Negotiation", "Won", "Lost")
MONEY = re.compile(r"^-?\d+\.\d{2}$")


@pytest.fixture
def data(runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient) -> Dataset:
    return build(runtime, tenant, owner)


def pipeline(client: GraphQLClient, **filter: Any) -> dict[tuple[str | None, str], tuple[int, str, str]]:
    rows = client.data(PIPELINE, {"filter": filter or None})["pipelineReport"]
    return {(r["currency"], r["stage"]["name"]): (r["count"], r["amount"], r["weightedAmount"]) for r in rows}


def zeros(currency: str | None, **rows: tuple[int, str, str]) -> dict[tuple[str | None, str], tuple[int, str, str]]:
    """Every stage of `currency`, zero unless given (keys: stage names with '_' for ' ')."""
    given = {name.replace("_", " "): row for name, row in rows.items()}
    return {(currency, stage): given.get(stage, (0, "0.00", "0.00")) for stage in STAGES}


def trend(client: GraphQLClient, period: str, **filter: Any) -> list[tuple[str, str | None, int, str]]:
    rows = client.data(TREND, {"period": period, "filter": filter or None})["salesTrend"]
    return [(r["periodStart"], r["currency"], r["wonCount"], r["wonAmount"]) for r in rows]


def leaderboard(client: GraphQLClient, **filter: Any) -> list[tuple[str, str, int, str, str]]:
    rows = client.data(LEADERBOARD, {"filter": filter or None})["repLeaderboard"]
    return [(r["member"]["id"], r["currency"], r["wonCount"], r["wonAmount"], r["openPipeline"]) for r in rows]


def collection(client: GraphQLClient, **filter: Any) -> dict[str, Any]:
    return dict(client.data(COLLECTION, {"filter": filter or None})["paymentCollection"])


def test_pipeline_report_per_stage_and_currency(data: Dataset) -> None:
    # weighted: 1000.00 x 10 % = 100.00; 333.33 x 30 % = 99.999 -> 100.00; 1500.00 x 60 % = 900.00;
    # won 2000.00 + 800.00 + 1200.00 = 4000.00 at 100 %; lost 500.00 at 0 %; USD 700.00 x 30 % = 210.00
    assert pipeline(data.owner) == {
        **zeros(
            "EUR",
            Needs_discovery=(1, "1000.00", "100.00"),
            Proposal=(1, "333.33", "100.00"),
            Negotiation=(1, "1500.00", "900.00"),
            Won=(3, "4000.00", "4000.00"),
            Lost=(1, "500.00", "0.00"),
        ),
        **zeros("USD", Proposal=(1, "700.00", "210.00"), Won=(1, "100.00", "100.00")),
    }
    rows = data.owner.data(PIPELINE)["pipelineReport"]
    assert [(r["currency"], r["stage"]["name"]) for r in rows] == [
        *(("EUR", s) for s in STAGES),
        *(("USD", s) for s in STAGES),
    ]
    # created_at on 2025-02-01 00:00 is in, 2025-01-31 23:59:59 is out
    assert pipeline(data.owner, **{"from": "2025-02-01", "to": "2025-02-28"}) == zeros(
        "EUR", Negotiation=(1, "1500.00", "900.00"), Lost=(1, "500.00", "0.00")
    )
    # `to` is inclusive: 2025-01-31 23:59:59 is in, 2025-02-01 00:00 out
    assert pipeline(data.owner, to="2025-01-31") == {
        **zeros(
            "EUR",
            Needs_discovery=(1, "1000.00", "100.00"),
            Proposal=(1, "333.33", "100.00"),
            Won=(2, "2800.00", "2800.00"),
        ),
        **zeros("USD", Proposal=(1, "700.00", "210.00")),
    }
    assert pipeline(data.owner, currency="usd") == zeros(
        "USD", Proposal=(1, "700.00", "210.00"), Won=(1, "100.00", "100.00")
    )
    assert pipeline(data.owner, ownerId=data.rep2_id) == zeros(
        "EUR", Negotiation=(1, "1500.00", "900.00"), Won=(2, "2000.00", "2000.00")
    )
    # nothing found: every stage once, no currency, zeros
    assert pipeline(data.owner, **{"from": "2030-01-01"}) == zeros(None)


def test_sales_trend_lists_every_period_with_zeros(data: Dataset) -> None:
    # wins: b2 800.00 on 2025-01-31 23:59:59, a3 2000.00 on 2025-02-03, b3 1200.00 on 2025-03-01 00:00,
    # a6 100.00 USD on 2025-04-02; without from/to the range runs from the first win's period to the last's
    assert trend(data.owner, "MONTH") == [
        ("2025-01-01", "EUR", 1, "800.00"),
        ("2025-02-01", "EUR", 1, "2000.00"),
        ("2025-03-01", "EUR", 1, "1200.00"),
        ("2025-04-01", "EUR", 0, "0.00"),
        ("2025-01-01", "USD", 0, "0.00"),
        ("2025-02-01", "USD", 0, "0.00"),
        ("2025-03-01", "USD", 0, "0.00"),
        ("2025-04-01", "USD", 1, "100.00"),
    ]
    # closed_at edges: 2025-01-31 23:59:59 is before `from`; 2025-03-01 00:00 is on `to`'s month's first day
    assert trend(data.owner, "MONTH", **{"from": "2025-02-01", "to": "2025-03-31"}) == [
        ("2025-02-01", "EUR", 1, "2000.00"),
        ("2025-03-01", "EUR", 1, "1200.00"),
    ]
    assert trend(data.owner, "MONTH", to="2025-01-31") == [("2025-01-01", "EUR", 1, "800.00")]
    assert trend(data.owner, "MONTH", **{"from": "2025-03-01", "to": "2025-03-01"}) == [
        ("2025-03-01", "EUR", 1, "1200.00")
    ]
    assert trend(data.owner, "MONTH", to="2025-02-28", **{"from": "2025-02-28"}) == [("2025-02-01", None, 0, "0.00")]
    # weeks start on Monday: 2025-02-01 is a Saturday, 2025-02-16 a Sunday
    assert trend(data.owner, "WEEK", **{"from": "2025-02-01", "to": "2025-02-16"}) == [
        ("2025-01-27", "EUR", 0, "0.00"),
        ("2025-02-03", "EUR", 1, "2000.00"),
        ("2025-02-10", "EUR", 0, "0.00"),
    ]
    assert trend(data.owner, "QUARTER") == [
        ("2025-01-01", "EUR", 3, "4000.00"),
        ("2025-04-01", "EUR", 0, "0.00"),
        ("2025-01-01", "USD", 0, "0.00"),
        ("2025-04-01", "USD", 1, "100.00"),
    ]
    assert trend(data.owner, "YEAR") == [("2025-01-01", "EUR", 3, "4000.00"), ("2025-01-01", "USD", 1, "100.00")]
    assert trend(data.owner, "DAY", currency="EUR", **{"from": "2025-03-01", "to": "2025-03-03"}) == [
        ("2025-03-01", "EUR", 1, "1200.00"),
        ("2025-03-02", "EUR", 0, "0.00"),
        ("2025-03-03", "EUR", 0, "0.00"),
    ]
    # no wins in the range: its periods, zeros, no currency
    assert trend(data.owner, "MONTH", **{"from": "2024-01-15", "to": "2024-03-01"}) == [
        ("2024-01-01", None, 0, "0.00"),
        ("2024-02-01", None, 0, "0.00"),
        ("2024-03-01", None, 0, "0.00"),
    ]


def test_rep_leaderboard(data: Dataset) -> None:
    rep1, rep2 = data.rep1_id, data.rep2_id
    # EUR: rep2 won b2 800.00 + b3 1200.00, open b1 1500.00; rep1 won a3 2000.00, open a1 1000.00 + a2 333.33.
    # Equal won amounts: more wins first. USD: rep1 won a6 100.00, open a5 700.00. Lost a4 counts nowhere.
    assert leaderboard(data.owner) == [
        (rep2, "EUR", 2, "2000.00", "1500.00"),
        (rep1, "EUR", 1, "2000.00", "1333.33"),
        (rep1, "USD", 1, "100.00", "700.00"),
    ]
    # won by closed_at, open by created_at: in February a3 was won (rep1) and b1 opened (rep2)
    assert leaderboard(data.owner, **{"from": "2025-02-01", "to": "2025-02-28"}) == [
        (rep1, "EUR", 1, "2000.00", "0.00"),
        (rep2, "EUR", 0, "0.00", "1500.00"),
    ]
    # up to 2025-01-31 (inclusive): b2 won at 23:59:59; a1, a2 (23:59:59) and a5 opened
    assert leaderboard(data.owner, to="2025-01-31") == [
        (rep2, "EUR", 1, "800.00", "0.00"),
        (rep1, "EUR", 0, "0.00", "1333.33"),
        (rep1, "USD", 0, "0.00", "700.00"),
    ]
    assert leaderboard(data.owner, ownerId=rep2, currency="EUR") == [(rep2, "EUR", 2, "2000.00", "1500.00")]


def test_payment_collection(data: Dataset) -> None:
    # EUR due: a3 1000.00 + 1000.00, b2 300.00 + 500.00, b3 600.00 + 600.00 = 4000.00; received 400.00 + 300.00;
    # overdue (due before today, not fully paid, what is outstanding): a3 600.00 + b2 500.00 + b3 600.00
    eur = {"currency": "EUR", "due": "4000.00", "received": "700.00", "overdue": "1700.00", "overdueCount": 3}
    usd = {"currency": "USD", "due": "100.00", "received": "0.00", "overdue": "100.00", "overdueCount": 1}
    # two currencies and none asked for: no sum across them
    assert collection(data.owner) == {
        "currency": None, "due": None, "received": None, "overdue": None, "overdueCount": 4, "byCurrency": [eur, usd],
    }  # fmt: skip
    assert collection(data.owner, currency="EUR") == {**eur, "byCurrency": [eur]}
    # due_on edges are inclusive: a3's 2025-02-15 (400.00 of 1000.00 received) and b2's 2025-02-10 (paid)
    window = {"currency": "EUR", "due": "1300.00", "received": "700.00", "overdue": "600.00", "overdueCount": 1}
    assert collection(data.owner, **{"from": "2025-02-10", "to": "2025-02-15"}) == {**window, "byCurrency": [window]}
    nothing = {"currency": None, "due": "0.00", "received": "0.00", "overdue": "0.00", "overdueCount": 0}
    assert collection(data.owner, **{"from": "2025-02-11", "to": "2025-02-14"}) == {**nothing, "byCurrency": []}
    eur_zero = {**nothing, "currency": "EUR"}
    assert collection(data.owner, currency="EUR", **{"from": "2025-02-11", "to": "2025-02-14"}) == {
        **eur_zero, "byCurrency": [eur_zero],
    }  # fmt: skip
    # due today is not overdue; due yesterday and unpaid is
    today = {"currency": "EUR", "due": "600.00", "received": "0.00", "overdue": "0.00", "overdueCount": 0}
    assert collection(data.owner, **{"from": TODAY.isoformat(), "to": TODAY.isoformat()}) == {
        **today, "byCurrency": [today],
    }  # fmt: skip
    yesterday = {**today, "overdue": "600.00", "overdueCount": 1}
    assert collection(data.owner, **{"from": YESTERDAY.isoformat(), "to": YESTERDAY.isoformat()}) == {
        **yesterday, "byCurrency": [yesterday],
    }  # fmt: skip
    # the owner of the contract's opportunity: rep2 has b2 and b3
    rep2 = {"currency": "EUR", "due": "2000.00", "received": "300.00", "overdue": "1100.00", "overdueCount": 2}
    assert collection(data.owner, ownerId=data.rep2_id) == {**rep2, "byCurrency": [rep2]}


def test_a_rep_reports_only_what_the_rep_sees(data: Dataset) -> None:
    rep1 = data.rep1_id
    assert pipeline(data.rep1) == {
        **zeros(
            "EUR",
            Needs_discovery=(1, "1000.00", "100.00"),
            Proposal=(1, "333.33", "100.00"),
            Won=(1, "2000.00", "2000.00"),
            Lost=(1, "500.00", "0.00"),
        ),
        **zeros("USD", Proposal=(1, "700.00", "210.00"), Won=(1, "100.00", "100.00")),
    }
    assert trend(data.rep1, "MONTH") == [
        ("2025-02-01", "EUR", 1, "2000.00"),
        ("2025-03-01", "EUR", 0, "0.00"),
        ("2025-04-01", "EUR", 0, "0.00"),
        ("2025-02-01", "USD", 0, "0.00"),
        ("2025-03-01", "USD", 0, "0.00"),
        ("2025-04-01", "USD", 1, "100.00"),
    ]
    assert leaderboard(data.rep1) == [(rep1, "EUR", 1, "2000.00", "1333.33"), (rep1, "USD", 1, "100.00", "700.00")]
    eur = {"currency": "EUR", "due": "2000.00", "received": "400.00", "overdue": "600.00", "overdueCount": 1}
    usd = {"currency": "USD", "due": "100.00", "received": "0.00", "overdue": "100.00", "overdueCount": 1}
    assert collection(data.rep1) == {
        "currency": None, "due": None, "received": None, "overdue": None, "overdueCount": 2, "byCurrency": [eur, usd],
    }  # fmt: skip
    # asking for another rep's figures gives nothing, not the other rep's
    assert pipeline(data.rep1, ownerId=data.rep2_id) == zeros(None)
    assert trend(data.rep1, "MONTH", ownerId=data.rep2_id) == []
    assert leaderboard(data.rep1, ownerId=data.rep2_id) == []
    assert collection(data.rep1, ownerId=data.rep2_id)["byCurrency"] == []


def test_another_tenant_is_never_counted(
    runtime: Runtime, data: Dataset, other_tenant: TenantHandle, other_owner: GraphQLClient
) -> None:
    build_other(runtime, other_tenant, other_owner)
    # 5555.00 x 30 % = 1666.50
    assert pipeline(other_owner) == zeros("EUR", Proposal=(1, "5555.00", "1666.50"), Won=(1, "9999.00", "9999.00"))
    assert trend(other_owner, "MONTH") == [("2025-02-01", "EUR", 1, "9999.00")]
    other_member = other_owner.data("{ me { member { id } } }")["me"]["member"]["id"]
    assert leaderboard(other_owner) == [(other_member, "EUR", 1, "9999.00", "5555.00")]
    x1 = {"currency": "EUR", "due": "9999.00", "received": "0.00", "overdue": "9999.00", "overdueCount": 1}
    assert collection(other_owner) == {**x1, "byCurrency": [x1]}
    # the first tenant's figures are those of test_payment_collection / test_rep_leaderboard: unchanged
    assert collection(data.owner, currency="EUR")["due"] == "4000.00"
    assert [row[0] for row in leaderboard(data.owner)] == [data.rep2_id, data.rep1_id, data.rep1_id]
    # the first tenant's member ids are unknown here
    for query in (PIPELINE, LEADERBOARD, COLLECTION):
        assert other_owner.error_codes(query, {"filter": {"ownerId": data.rep1_id}}) == ["NOT_FOUND"]
    assert other_owner.error_codes(TREND, {"period": "MONTH", "filter": {"ownerId": data.rep1_id}}) == ["NOT_FOUND"]


def test_money_is_a_decimal_string_never_a_float(data: Dataset) -> None:
    amounts: list[Any] = []
    for row in data.owner.data(PIPELINE)["pipelineReport"]:
        amounts += [row["amount"], row["weightedAmount"]]
    amounts += [row["wonAmount"] for row in data.owner.data(TREND, {"period": "MONTH"})["salesTrend"]]
    for row in data.owner.data(LEADERBOARD)["repLeaderboard"]:
        amounts += [row["wonAmount"], row["openPipeline"]]
    paid = data.owner.data(COLLECTION, {"filter": {"currency": "EUR"}})["paymentCollection"]
    amounts += [paid["due"], paid["received"], paid["overdue"]]
    assert len(amounts) > 20
    assert all(isinstance(a, str) and MONEY.match(a) for a in amounts), amounts


def _all(client: GraphQLClient, filter: dict[str, Any]) -> list[list[str]]:
    codes = [client.error_codes(query, {"filter": filter}) for query in (PIPELINE, LEADERBOARD, COLLECTION)]
    return [*codes, client.error_codes(TREND, {"period": "MONTH", "filter": filter})]


def test_bad_filters_are_coded_errors(owner: GraphQLClient) -> None:
    customer_id = to_global_id("Customer", uuid.uuid4())
    assert _all(owner, {"from": "2025-02-02", "to": "2025-02-01"}) == [["BAD_USER_INPUT"]] * 4
    assert _all(owner, {"from": "2025-02-30"}) == [["BAD_USER_INPUT"]] * 4
    assert _all(owner, {"ownerId": "not an id"}) == [["NOT_FOUND"]] * 4
    assert _all(owner, {"ownerId": customer_id}) == [["NOT_FOUND"]] * 4
    assert _all(owner, {"ownerId": to_global_id("Member", uuid.uuid4())}) == [["NOT_FOUND"]] * 4
    assert _all(owner, {"currency": "EURO"}) == [["BAD_USER_INPUT"]] * 4
    assert owner.error_codes(TREND, {"period": "HOUR"}) == ["BAD_USER_INPUT"]
    too_long = {"from": "2020-01-01", "to": (TODAY + timedelta(days=1)).isoformat()}
    assert owner.error_codes(TREND, {"period": "DAY", "filter": too_long}) == ["BAD_USER_INPUT"]
    assert owner.data(TREND, {"period": "MONTH", "filter": too_long})["salesTrend"]
    # without `to`, the span runs to today
    assert owner.error_codes(TREND, {"period": "DAY", "filter": {"from": "2020-01-01"}}) == ["BAD_USER_INPUT"]
    assert owner.error_codes(TREND, {"period": "WEEK", "filter": {"from": "2020-01-01"}}) == []
    # the same range is fine by the day when it is short
    assert owner.error_codes(TREND, {"period": "DAY", "filter": {"from": "2025-01-01", "to": "2025-01-31"}}) == []


def test_the_team_filter_counts_its_members_and_manager(data: Dataset, tenant: TenantHandle) -> None:
    """A team's figures are those of its members and its manager: rep2 in a team managed by a member
    with no deals gives rep2's figures; with rep1 as the manager, both reps'."""
    manager = add_member(data.owner, tenant, "manager")
    manager_id = manager.data("{ me { member { id } } }")["me"]["member"]["id"]
    rep2_team = _team(data.owner, "Rep 2", manager_id, [data.rep2_id])
    assert pipeline(data.owner, teamId=rep2_team) == pipeline(data.owner, ownerId=data.rep2_id)
    assert trend(data.owner, "MONTH", teamId=rep2_team) == trend(data.owner, "MONTH", ownerId=data.rep2_id)
    assert leaderboard(data.owner, teamId=rep2_team) == leaderboard(data.owner, ownerId=data.rep2_id)
    assert collection(data.owner, teamId=rep2_team) == collection(data.owner, ownerId=data.rep2_id)
    both = _team(data.owner, "Both", data.rep1_id, [data.rep2_id])
    assert pipeline(data.owner, teamId=both) == pipeline(data.owner)
    assert collection(data.owner, teamId=both) == collection(data.owner)
    # with an owner too, both must hold
    assert leaderboard(data.owner, teamId=rep2_team, ownerId=data.rep1_id) == []
    # an unknown team, another type's id: NOT_FOUND
    assert _all(data.owner, {"teamId": to_global_id("Team", uuid.uuid4())}) == [["NOT_FOUND"]] * 4
    assert _all(data.owner, {"teamId": to_global_id("Member", uuid.uuid4())}) == [["NOT_FOUND"]] * 4


def test_another_tenants_team_is_not_found(data: Dataset, other_owner: GraphQLClient) -> None:
    team = _team(data.owner, "Rep 2", data.rep1_id, [data.rep2_id])
    assert _all(other_owner, {"teamId": team}) == [["NOT_FOUND"]] * 4


def _team(owner: GraphQLClient, name: str, manager_id: str, member_ids: list[str]) -> str:
    created = owner.data(
        "mutation($input: CreateTeamInput!) { createTeam(input: $input) { team { id } userErrors { code } } }",
        {"input": {"name": name, "managerId": manager_id, "memberIds": member_ids}},
    )["createTeam"]
    assert created["userErrors"] == []
    return str(created["team"]["id"])


def test_reports_need_deals_read(anonymous: GraphQLClient) -> None:
    assert anonymous.error_codes(PIPELINE) == ["UNAUTHENTICATED"]


def test_each_report_is_one_statement_whatever_the_rows(
    runtime: Runtime, tenant: TenantHandle, owner: GraphQLClient
) -> None:
    def statements() -> list[int]:
        counts = []
        for query, variables in (
            (PIPELINE, {}),
            (TREND, {"period": "WEEK"}),
            (LEADERBOARD, {}),
            (COLLECTION, {}),
        ):
            owner.data(query, variables)
            counts.append(owner.last_statements)
        return counts

    owner.data("{ pipelineStages { id } }")  # the default stages, made on first use
    empty = statements()
    build(runtime, tenant, owner)
    many = statements()
    # the report's one statement, the read transaction's tenant setting in front of it (one
    # message); the leaderboard's members (two reps here, none when empty) are one batch more
    assert many == [1, 1, 2, 1], many
    assert empty == [1, 1, 1, 1], empty
