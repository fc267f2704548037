"""Quotes: limited-fluctuation credibility in Decimal arithmetic, each figure against a hand-worked value;
versioned rating tables, the version a policy keeps, and bad input."""

from __future__ import annotations

from typing import Any

import pytest
from ins_helpers import (
    QUOTE,
    SET_TABLE,
    count_rows,
    create_customer,
    issue,
    ok,
    refused,
    report,
)

from saas.plugin_api.testing import enable_plugin  # noqa: F401  (the kit's fixtures load through conftest)

DENY = "mutation($input: InsDenyClaimInput!) { denyClaim(input: $input) { userErrors { code } } }"


def table(**overrides: Any) -> dict[str, Any]:
    data = {
        "line": "AUTO",
        "baseFrequency": "0.08",
        "baseSeverity": "0.05",
        "expenseLoading": "0.25",
        "profitLoading": "0.05",
        "fullCredibilityClaims": 100,
        "factors": [
            {"name": "driverAge", "level": "18-25", "relativity": "1.5"},
            {"name": "driverAge", "level": "26-64", "relativity": "1.0"},
        ],
    }
    data.update(overrides)
    return data


@pytest.fixture
def experienced(ins: Any) -> Any:
    """AUTO experience: 3 exposure-years (730 + 365 days of terms, both over), 4 claims whose
    incurred / sum insured are 0.05, 0.10, 0.15 and 0.10 (mean 0.10), and a denied one (not counted)."""
    ok(ins, SET_TABLE, {"input": table()}, "setRatingTable")
    customer = create_customer(ins)
    first = issue(ins, customer, sumInsured="10000.00", startsOn="2021-01-01", endsOn="2023-01-01", premium="100.00")
    second = issue(ins, customer, sumInsured="10000.00", startsOn="2022-01-01", endsOn="2023-01-01", premium="100.00")
    for policy, amount in ((first, "500.00"), (first, "1000.00"), (second, "1500.00"), (second, "1000.00")):
        report(ins, policy["id"], occurredOn="2022-06-01", estimatedAmount=amount)
    denied = report(ins, first["id"], occurredOn="2021-06-01", estimatedAmount="9000.00")
    assert ins.data(DENY, {"input": {"id": denied["id"], "reason": "Not covered"}})["denyClaim"]["userErrors"] == []
    return ins


def quote(client: Any, **fields: Any) -> dict[str, Any]:
    data = {"line": "AUTO", "sumInsured": "20000.00", "ratingFactors": {"driverAge": "18-25"}}
    data.update(fields)
    return client.data(QUOTE, {"input": data})["insuranceQuote"]


def test_a_quote_blends_the_tenant_experience_by_credibility(experienced: Any, tenant: Any) -> None:
    """n = 4, n_full = 100: Z = sqrt(0.04) = 0.2. observed = 4 / 3 = 1.333333...;
    blended = 0.2 * 4/3 + 0.8 * 0.08 = 0.330666...; severity = 0.2 * 0.10 + 0.8 * 0.05 = 0.06;
    pure = 0.330666... * 0.06 * 1.5 * 20000 = 595.20; gross = 595.20 / (1 - 0.25 - 0.05) = 850.2857... → 850.29."""
    policies_before = count_rows(tenant, "ins_policies")
    found = quote(experienced)
    assert found["premium"] == "850.29" and found["ratingTableVersion"] == 2
    assert found["breakdown"] == {
        "baseFrequency": "0.080000",
        "observedFrequency": "1.333333",
        "credibility": "0.200000",
        "blendedFrequency": "0.330667",
        "expectedSeverity": "0.060000",
        "relativity": "1.500000",
        "purePremium": "595.20",
        "expenseLoading": "0.2500",
        "profitLoading": "0.0500",
    }
    assert count_rows(tenant, "ins_policies") == policies_before  # a query: nothing written


def test_full_credibility_uses_the_tenant_experience_alone(experienced: Any) -> None:
    """n_full = 4: Z = 1; blended = 4/3; severity = 0.10; pure = 4/3 * 0.10 * 1.0 * 30000 = 4000.00;
    gross = 4000 / 0.7 = 5714.2857... → 5714.29."""
    ok(experienced, SET_TABLE, {"input": table(fullCredibilityClaims=4)}, "setRatingTable")
    found = quote(experienced, sumInsured="30000.00", ratingFactors={"driverAge": "26-64"})
    assert found["breakdown"]["credibility"] == "1.000000"
    assert found["breakdown"]["blendedFrequency"] == "1.333333"
    assert found["breakdown"]["expectedSeverity"] == "0.100000"
    assert (found["breakdown"]["purePremium"], found["premium"]) == ("4000.00", "5714.29")


def test_without_experience_the_base_rates_apply(ins: Any) -> None:
    """No claims: Z = 0; pure = 0.08 * 0.05 * 1.5 * 20000 = 120.00; gross = 120 / 0.7 = 171.4285... → 171.43."""
    ok(ins, SET_TABLE, {"input": table()}, "setRatingTable")
    found = quote(ins)
    assert found["breakdown"]["credibility"] == "0.000000"
    assert found["breakdown"]["observedFrequency"] == "0.080000"  # shown as the base rate: nothing observed
    assert (found["breakdown"]["purePremium"], found["premium"]) == ("120.00", "171.43")


def test_a_policy_without_premium_gets_the_quote_and_keeps_its_table_version(ins: Any) -> None:
    ok(ins, SET_TABLE, {"input": table()}, "setRatingTable")
    customer = create_customer(ins)
    quoted = quote(ins)
    policy = issue(ins, customer, sumInsured="20000.00", ratingFactors={"driverAge": "18-25"})
    assert policy["premium"] == quoted["premium"] == "171.43" and policy["ratingTable"]["version"] == 2
    ok(ins, SET_TABLE, {"input": table(baseFrequency="0.16")}, "setRatingTable")
    assert quote(ins)["premium"] == "342.86" and quote(ins)["ratingTableVersion"] == 3
    again = ins.data(
        "query($id: ID!) { node(id: $id) { ... on InsPolicy { premium ratingTable { version } } } }",
        {"id": policy["id"]},
    )
    assert again["node"] == {"premium": "171.43", "ratingTable": {"version": 2}}
    versions = ins.data("{ ratingTables(line: AUTO) { version baseFrequency } }")["ratingTables"]
    assert [v["version"] for v in versions] == [3, 2, 1]


def test_a_given_premium_is_kept(ins: Any) -> None:
    assert issue(ins, create_customer(ins), premium="99.99")["premium"] == "99.99"


def test_unknown_factors_are_refused(ins: Any) -> None:
    codes = ins.execute(QUOTE, {"input": {"line": "AUTO", "sumInsured": "1000", "ratingFactors": {"colour": "red"}}})
    assert codes["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    variables = {
        "input": {
            "customerId": create_customer(ins),
            "line": "AUTO",
            "sumInsured": "1000.00",
            "startsOn": "2025-01-01",
            "endsOn": "2026-01-01",
            "ratingFactors": {"driverAge": "12"},
        }
    }
    from ins_helpers import ISSUE

    assert refused(ins, ISSUE, variables, "issuePolicy") == [
        (["input", "ratingFactors", "driverAge"], "UNKNOWN_RATING_FACTOR")
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"baseFrequency": "0"}, ["input", "baseFrequency"]),
        ({"baseSeverity": "1.5"}, ["input", "baseSeverity"]),
        ({"expenseLoading": "-0.1"}, ["input", "expenseLoading"]),
        ({"expenseLoading": "0.6", "profitLoading": "0.4"}, ["input", "profitLoading"]),
        ({"fullCredibilityClaims": 0}, ["input", "fullCredibilityClaims"]),
        ({"factors": [{"name": "", "level": "x", "relativity": "1"}]}, ["input", "factors.0.name"]),
        ({"factors": [{"name": "a" * 51, "level": "x", "relativity": "1"}]}, ["input", "factors.0.name"]),
        ({"factors": [{"name": "a", "level": "x", "relativity": "0"}]}, ["input", "factors.0.relativity"]),
        (
            {
                "factors": [
                    {"name": "a", "level": "x", "relativity": "1"},
                    {"name": "a", "level": "x", "relativity": "2"},
                ]
            },
            ["input", "factors.1.level"],
        ),
    ],
)
def test_bad_rating_tables_are_refused_and_nothing_is_written(
    ins: Any, tenant: Any, overrides: Any, field: Any
) -> None:
    before = count_rows(tenant, "ins_rating_tables")
    errors = refused(ins, SET_TABLE, {"input": table(**overrides)}, "setRatingTable")
    assert (field, "INVALID") in errors
    assert count_rows(tenant, "ins_rating_tables") == before


def test_wrong_types_are_refused_by_the_schema(ins: Any) -> None:
    result = ins.execute(SET_TABLE, {"input": table(baseFrequency="lots")})
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"
    result = ins.execute(SET_TABLE, {"input": table(line="BOAT")})
    assert result["errors"][0]["extensions"]["code"] == "BAD_USER_INPUT"


def test_only_managers_publish_rating_tables(ins: Any, tenant: Any) -> None:
    from test_ins_claims import add_member

    sales = add_member(ins, tenant, "sales")
    assert sales.error_codes(SET_TABLE, {"input": table()}) == ["FORBIDDEN"]


TABLE_FIELDS = (
    "id line version baseFrequency baseSeverity expenseLoading profitLoading fullCredibilityClaims createdAt"
    " factors { name level relativity }"
)
PUBLISH = f"mutation($input: InsSetRatingTableInput!) {{ setRatingTable(input: $input) {{ ratingTable {{ {TABLE_FIELDS} }} }} }}"
TABLES = f"query($line: InsLine) {{ ratingTables(line: $line) {{ {TABLE_FIELDS} }} }}"


def test_rating_tables_are_one_statement_however_many_with_the_resolvers_answer(ins: Any, other_ins: Any) -> None:
    before = ins.data(TABLES, {"line": "AUTO"})["ratingTables"]
    assert ins.last_statements == 1 and [t["version"] for t in before] == [1]
    published = [
        ins.data(
            PUBLISH,
            {
                "input": table(
                    factors=[
                        {"name": "zone", "level": f"z{n}", "relativity": f"1.{n}5"},
                        {"name": "age", "level": "a", "relativity": "0.90"},
                    ]
                )
            },
        )["setRatingTable"]["ratingTable"]
        for n in range(3)
    ]
    auto = ins.data(TABLES, {"line": "AUTO"})["ratingTables"]
    assert ins.last_statements == 1
    # Newest version first, each as the mutation's resolvers wrote it, factors in their order.
    assert auto == [*reversed(published), *before]
    assert auto[0]["factors"] == [
        {"name": "zone", "level": "z2", "relativity": "1.25"},
        {"name": "age", "level": "a", "relativity": "0.90"},
    ]
    every = ins.data(TABLES, {})["ratingTables"]
    assert ins.last_statements == 1
    assert [t["line"] for t in every] == sorted(t["line"] for t in every) and len(every) > len(auto)
    assert [t for t in every if t["line"] == "AUTO"] == auto
    # Another tenant sees its own defaults only, none of these versions.
    theirs = other_ins.data(TABLES, {"line": "AUTO"})["ratingTables"]
    assert [t["version"] for t in theirs] == [1] and theirs[0]["id"] != before[0]["id"]
    assert not {t["id"] for t in other_ins.data(TABLES, {})["ratingTables"]} & {t["id"] for t in every}
