"""Claim statistics in SQL: every figure of every grouping against values worked by hand.

The book (2024 is a leap year):
- A: AUTO 2023-07-01 to 2024-07-01, premium 366.00 (1.00 a day); claims 2023-09-01 (300.00),
  2024-02-10 collision North (1,000.00: 400.00 paid, 600.00 reserved), 2024-05-05 glass South (200.00);
- B: HOME 2024-01-01 to 2025-01-01, premium 732.00 (2.00 a day); claim 2024-08-01 fire North (5,000.00);
- C: AUTO 2024-01-01 to 2025-01-01, premium 366.00, cancelled 2024-04-01 (91 days ran); claim
  2024-03-01 theft North, denied (never counted).
In 2024: A ran 182 days, C 91, B 366.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from ins_helpers import APPROVE, DENY, PAY, STATS, acting_for, create_customer, issue, ok, report
from sqlalchemy import text


@pytest.fixture
def book(ins: Any, tenant: Any) -> Any:
    from saas_insurance.service.policies import cancel_policy

    from saas.plugin_api import decode_id

    customer = create_customer(ins)
    a = issue(
        ins, customer, line="AUTO", startsOn="2023-07-01", endsOn="2024-07-01", premium="366.00", sumInsured="50000.00"
    )
    b = issue(
        ins, customer, line="HOME", startsOn="2024-01-01", endsOn="2025-01-01", premium="732.00", sumInsured="90000.00"
    )
    c = issue(
        ins, customer, line="AUTO", startsOn="2024-01-01", endsOn="2025-01-01", premium="366.00", sumInsured="50000.00"
    )
    with tenant.session() as session:
        # The API cancels a running policy today; for a book in the past, the policy is put back
        # to the ACTIVE it was in 2024 and the service is given the day.
        raw = decode_id(c["id"], "InsPolicy")
        session.execute(text("UPDATE ins_policies SET status = 'active' WHERE id = :id"), {"id": raw})
        cancel_policy(session, acting_for(tenant), raw, "Sold", on=date(2024, 4, 1))
    report(ins, a["id"], occurredOn="2023-09-01", cause="collision", region="North", estimatedAmount="300.00")
    collision = report(
        ins, a["id"], occurredOn="2024-02-10", cause="collision", region="North", estimatedAmount="1000.00"
    )
    ok(ins, APPROVE, {"input": {"id": collision["id"]}}, "approveClaim")
    ok(ins, PAY, {"input": {"id": collision["id"], "amount": "400.00"}}, "payClaim")
    report(ins, a["id"], occurredOn="2024-05-05", cause="glass", region="South", estimatedAmount="200.00")
    report(ins, b["id"], occurredOn="2024-08-01", cause="fire", region="North", estimatedAmount="5000.00")
    theft = report(ins, c["id"], occurredOn="2024-03-01", cause="theft", region="North", estimatedAmount="800.00")
    ok(ins, DENY, {"input": {"id": theft["id"], "reason": "Keys left in the car"}}, "denyClaim")
    return ins


YEAR_2024 = {"from": "2024-01-01", "to": "2024-12-31"}


def rows(client: Any, group_by: list[str], **filter: Any) -> list[dict[str, Any]]:
    return client.data(STATS, {"groupBy": group_by, "filter": filter or None})["claimStatistics"]


def key(
    line: str | None = None, cause: str | None = None, region: str | None = None, year: int | None = None
) -> dict[str, Any]:
    return {"line": line, "cause": cause, "region": region, "year": year}


def test_by_line(book: Any) -> None:
    """AUTO: 182 + 91 = 273 days = 0.7479 years; 2 claims, 1,200.00; frequency 2 * 365 / 273 = 2.673993;
    earned 182.00 + 91.00; loss ratio 1200 / 273 = 4.3956. HOME: 366 days = 1.0027; 1 claim 5,000.00;
    frequency 365 / 366 = 0.997268; earned 732.00; loss ratio 5000 / 732 = 6.8306."""
    assert rows(book, ["LINE"], **YEAR_2024) == [
        {
            "key": key(line="AUTO"),
            "exposureYears": "0.7479",
            "claimCount": 2,
            "frequency": "2.673993",
            "severity": "600.00",
            "incurred": "1200.00",
            "earnedPremium": "273.00",
            "lossRatio": "4.3956",
        },
        {
            "key": key(line="HOME"),
            "exposureYears": "1.0027",
            "claimCount": 1,
            "frequency": "0.997268",
            "severity": "5000.00",
            "incurred": "5000.00",
            "earnedPremium": "732.00",
            "lossRatio": "6.8306",
        },
    ]


def test_the_whole_book(book: Any) -> None:
    """639 days = 1.7507 years; 3 claims, 6,200.00; frequency 3 * 365 / 639 = 1.713615; severity
    2066.67; earned 1,005.00; loss ratio 6200 / 1005 = 6.1692."""
    assert rows(book, [], **YEAR_2024) == [
        {
            "key": key(),
            "exposureYears": "1.7507",
            "claimCount": 3,
            "frequency": "1.713615",
            "severity": "2066.67",
            "incurred": "6200.00",
            "earnedPremium": "1005.00",
            "lossRatio": "6.1692",
        }
    ]


def test_by_cause_each_cause_shares_the_whole_exposure(book: Any) -> None:
    """Every policy is exposed to every cause: 639 days; frequency 365 / 639 = 0.571205 each."""
    found = {r["key"]["cause"]: r for r in rows(book, ["CAUSE"], **YEAR_2024)}
    assert set(found) == {"collision", "fire", "glass"}
    assert {r["exposureYears"] for r in found.values()} == {"1.7507"}
    assert {r["frequency"] for r in found.values()} == {"0.571205"}
    assert [found[c]["lossRatio"] for c in ("collision", "fire", "glass")] == ["0.9950", "4.9751", "0.1990"]
    assert [found[c]["incurred"] for c in ("collision", "fire", "glass")] == ["1000.00", "5000.00", "200.00"]


def test_by_line_and_region(book: Any) -> None:
    found = {(r["key"]["line"], r["key"]["region"]): r for r in rows(book, ["LINE", "REGION"], **YEAR_2024)}
    assert set(found) == {("AUTO", "North"), ("AUTO", "South"), ("HOME", "North")}
    assert found[("AUTO", "South")]["exposureYears"] == "0.7479" and found[("AUTO", "South")]["incurred"] == "200.00"
    assert found[("AUTO", "North")]["lossRatio"] == "3.6630"  # 1000 / 273


def test_by_year_with_exposure_clipped_to_each_year(book: Any) -> None:
    """AUTO over 2023-2024: 2023 has A's 184 days (0.5041 years), its 300.00 claim: frequency
    365 / 184 = 1.983696, earned 184.00, loss ratio 300 / 184 = 1.6304; 2024 as by line."""
    found = rows(book, ["YEAR"], line="AUTO", **{"from": "2023-01-01", "to": "2024-12-31"})
    assert [
        (r["key"]["year"], r["exposureYears"], r["claimCount"], r["frequency"], r["earnedPremium"], r["lossRatio"])
        for r in found
    ] == [
        (2023, "0.5041", 1, "1.983696", "184.00", "1.6304"),
        (2024, "0.7479", 2, "2.673993", "273.00", "4.3956"),
    ]


def test_all_four_dimensions(book: Any) -> None:
    found = rows(book, ["YEAR", "REGION", "CAUSE", "LINE"], **YEAR_2024)
    assert [
        (r["key"]["line"], r["key"]["cause"], r["key"]["region"], r["key"]["year"], r["claimCount"]) for r in found
    ] == [
        ("AUTO", "collision", "North", 2024, 1),
        ("AUTO", "glass", "South", 2024, 1),
        ("HOME", "fire", "North", 2024, 1),
    ]


def test_a_period_without_claims_has_exposure_and_no_ratios_over_zero(book: Any) -> None:
    found = rows(book, ["LINE"], **{"from": "2030-01-01", "to": "2030-12-31"})
    assert (
        found
        == [
            {
                "key": key(),
                "exposureYears": "0.0000",
                "claimCount": 0,
                "frequency": None,
                "severity": None,
                "incurred": "0.00",
                "earnedPremium": "0.00",
                "lossRatio": None,
            }
        ]
        or found == []
    )


def test_bad_statistics_input(book: Any) -> None:
    assert book.error_codes(STATS, {"groupBy": ["LINE", "LINE"]}) == ["BAD_USER_INPUT"]
    assert book.error_codes(STATS, {"groupBy": [], "filter": {"from": "2024-02-01", "to": "2024-01-01"}}) == [
        "BAD_USER_INPUT"
    ]
    assert book.error_codes(STATS, {"groupBy": ["PLANET"]}) == ["BAD_USER_INPUT"]


def test_another_tenant_counts_nothing_of_the_first(book: Any, other_ins: Any) -> None:
    assert rows(other_ins, ["LINE"], **YEAR_2024) == []
