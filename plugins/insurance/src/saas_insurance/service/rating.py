"""Versioned rating tables and the quote: limited-fluctuation credibility in `Decimal` arithmetic.

Expected frequency blends the tenant's own experience in the line with the table's base rate:

    Z        = min(1, sqrt(n / n_full))                 n: claims observed in the line (not denied),
                                                         n_full: the table's fullCredibilityClaims
    observed = n / exposure-years                        exposure: policy-years elapsed in the line
    blended  = Z * observed + (1 - Z) * baseFrequency
    severity = Z * observedSeverity + (1 - Z) * baseSeverity

Severity is a share of the sum insured (a claim costing 5,000 on a 100,000 policy is 0.05), so
the experience of policies of every size is comparable; `observedSeverity` is the mean over the
observed claims of incurred (paid + reserve) / sum insured. Then

    pure  = blended * severity * Π relativities * sumInsured
    gross = pure / (1 - expenseLoading - profitLoading)        the premium, rounded half up to cents

Every step is `Decimal` (28 significant digits, `Decimal.sqrt()`); the breakdown shows each
figure rounded half up to 6 places (the pure premium to cents), the premium is computed from
the unrounded ones.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from saas.plugin_api import BadUserInputError, Checker, NotFoundError, Principal, UserErrorCode, require
from saas_insurance import events
from saas_insurance.errors import InsErrorCode, invalid
from saas_insurance.models import Line, RatingTable
from saas_insurance.rules import RATING_MANAGE, READ
from saas_insurance.service.common import today

DEFAULT_FULL_CREDIBILITY = 1082
CENT = Decimal("0.01")
SIX = Decimal("0.000001")
ONE = Decimal(1)

# Version 1 of each line's table, made when a tenant enables the plugin.
DEFAULT_TABLES: dict[Line, dict[str, Any]] = {
    Line.AUTO: {
        "base_frequency": "0.08",
        "base_severity": "0.05",
        "factors": [
            ("driverAge", "18-25", "1.60"),
            ("driverAge", "26-64", "1.00"),
            ("driverAge", "65+", "1.25"),
            ("vehicleUse", "private", "1.00"),
            ("vehicleUse", "commercial", "1.30"),
        ],
    },
    Line.HOME: {
        "base_frequency": "0.04",
        "base_severity": "0.03",
        "factors": [
            ("construction", "brick", "1.00"),
            ("construction", "timber", "1.35"),
            ("floodZone", "no", "1.00"),
            ("floodZone", "yes", "1.80"),
        ],
    },
    Line.LIFE: {
        "base_frequency": "0.005",
        "base_severity": "1",
        "factors": [
            ("smoker", "no", "1.00"),
            ("smoker", "yes", "1.90"),
            ("ageBand", "under40", "0.60"),
            ("ageBand", "40-59", "1.00"),
            ("ageBand", "60+", "2.20"),
        ],
    },
    Line.HEALTH: {
        "base_frequency": "0.30",
        "base_severity": "0.02",
        "factors": [
            ("smoker", "no", "1.00"),
            ("smoker", "yes", "1.40"),
            ("ageBand", "under40", "0.80"),
            ("ageBand", "40-59", "1.00"),
            ("ageBand", "60+", "1.60"),
        ],
    },
}


def _six(value: Decimal) -> Decimal:
    return value.quantize(SIX, rounding=ROUND_HALF_UP)


def ensure_default_tables(session: Session) -> None:
    """Version 1 of every line's table, unless the line has one (enabling again keeps the tenant's)."""
    have = set(session.scalars(select(RatingTable.line).distinct()))
    for line, spec in DEFAULT_TABLES.items():
        if line.value in have:
            continue
        session.add(
            RatingTable(
                id=uuid.uuid4(),
                line=line.value,
                version=1,
                base_frequency=Decimal(spec["base_frequency"]),
                base_severity=Decimal(spec["base_severity"]),
                expense_loading=Decimal("0.25"),
                profit_loading=Decimal("0.05"),
                full_credibility_claims=DEFAULT_FULL_CREDIBILITY,
                factors=[{"name": n, "level": lv, "relativity": r} for n, lv, r in spec["factors"]],
            )
        )
    session.flush()


def current_table(session: Session, line: str) -> RatingTable:
    table = session.scalars(
        select(RatingTable).where(RatingTable.line == line).order_by(RatingTable.version.desc()).limit(1)
    ).first()
    if table is None:  # never: enabling the plugin made version 1 of every line's table
        raise NotFoundError("No rating table for the line", id=line)
    return table


def list_tables(session: Session, principal: Principal, line: str | None) -> list[RatingTable]:
    """Every version, by line and newest first (the first of each line is the one quotes use)."""
    require(principal.permissions, READ)
    query = select(RatingTable).order_by(RatingTable.line, RatingTable.version.desc())
    if line is not None:
        query = query.where(RatingTable.line == line)
    return list(session.scalars(query))


def _decimal(check: Checker, data: dict[str, Any], field: str, path: str, low: Decimal, high: Decimal) -> Decimal:
    value = data.get(field)
    if not isinstance(value, Decimal) or not value.is_finite():
        check.fail(path, UserErrorCode.INVALID, f"{path} must be a decimal number")
        return Decimal(0)
    if not low <= value <= high:
        check.fail(path, UserErrorCode.INVALID, f"{path} must be between {low} and {high}")
    return value


def set_rating_table(session: Session, principal: Principal, data: dict[str, Any]) -> RatingTable:
    """A new version of the line's table (the previous ones stay, for the policies rated with them).

    Concurrent publishers of one line serialise on the line's advisory lock, so versions are
    1, 2, 3… without a gap or a duplicate (the unique index is the last wall)."""
    require(principal.permissions, RATING_MANAGE)
    check = Checker(data)
    line = data["line"]
    base_frequency = _decimal(check, data, "base_frequency", "baseFrequency", Decimal("0.000001"), Decimal(100))
    base_severity = _decimal(check, data, "base_severity", "baseSeverity", Decimal("0.000001"), Decimal(1))
    expense = _decimal(check, data, "expense_loading", "expenseLoading", Decimal(0), Decimal("0.99"))
    profit = _decimal(check, data, "profit_loading", "profitLoading", Decimal(0), Decimal("0.99"))
    if expense + profit >= ONE:
        check.fail("profitLoading", UserErrorCode.INVALID, "expenseLoading + profitLoading must be below 1")
    full = data.get("full_credibility_claims")
    if full is None:
        full = DEFAULT_FULL_CREDIBILITY
    elif not 1 <= full <= 1_000_000:
        check.fail("fullCredibilityClaims", UserErrorCode.INVALID, "fullCredibilityClaims must be 1 to 1000000")
    factors: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()
    raw_factors = data.get("factors") or []
    if len(raw_factors) > 200:
        check.fail("factors", UserErrorCode.TOO_LONG, "At most 200 factors")
        raw_factors = []
    for index, factor in enumerate(raw_factors):
        name, level, relativity = factor["name"].strip(), factor["level"].strip(), factor["relativity"]
        where = f"factors.{index}"
        if not name or not level or len(name) > 50 or len(level) > 50:
            check.fail(f"{where}.name", UserErrorCode.INVALID, "name and level must have 1 to 50 characters")
        elif (name, level) in seen:
            check.fail(f"{where}.level", UserErrorCode.INVALID, f"{name}={level} is given twice")
        if not isinstance(relativity, Decimal) or not relativity.is_finite() or not 0 < relativity <= 100:
            check.fail(f"{where}.relativity", UserErrorCode.INVALID, "relativity must be above 0 and at most 100")
        seen.add((name, level))
        factors.append({"name": name, "level": level, "relativity": str(relativity)})
    check.done()
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtextextended(:key, 0))"),
        {"key": f"ins-rating:{principal.tenant_id}:{line}"},
    )
    version = session.scalar(select(func.coalesce(func.max(RatingTable.version), 0)).where(RatingTable.line == line))
    table = RatingTable(
        id=uuid.uuid4(),
        line=line,
        version=int(version or 0) + 1,
        base_frequency=base_frequency,
        base_severity=base_severity,
        expense_loading=expense,
        profit_loading=profit,
        full_credibility_claims=full,
        factors=factors,
    )
    session.add(table)
    session.flush()
    session.refresh(table)
    events.rating_table_set(session, table)
    return table


@dataclass(frozen=True)
class Experience:
    """The tenant's own experience in a line: claims (not denied), policy-years elapsed, and the
    sum over those claims of incurred / sum insured."""

    claims: int
    exposure_years: Decimal
    severity_sum: Decimal


def experience(session: Session, line: str) -> Experience:
    """One statement over the line's policies and claims, up to today (terms clipped to it)."""
    row = session.execute(
        text(
            "SELECT "
            "(SELECT COALESCE(sum(GREATEST(0, LEAST(COALESCE(p.cancelled_on, p.ends_on), CAST(:today AS date))"
            " - p.starts_on)), 0) FROM ins_policies p WHERE p.line = :line) AS exposure_days, "
            "(SELECT count(*) FROM ins_claims c JOIN ins_policies cp ON cp.tenant_id = c.tenant_id AND cp.id = c.policy_id"
            " WHERE cp.line = :line AND c.status <> 'denied') AS claims, "
            "(SELECT COALESCE(sum((c.paid_amount + c.reserve) / cp.sum_insured), 0) FROM ins_claims c"
            " JOIN ins_policies cp ON cp.tenant_id = c.tenant_id AND cp.id = c.policy_id"
            " WHERE cp.line = :line AND c.status <> 'denied') AS severity_sum"
        ),
        {"line": line, "today": today()},
    ).one()
    return Experience(int(row.claims), Decimal(row.exposure_days) / Decimal(365), Decimal(row.severity_sum))


@dataclass(frozen=True)
class Quote:
    premium: Decimal
    base_frequency: Decimal
    observed_frequency: Decimal
    credibility: Decimal
    blended_frequency: Decimal
    expected_severity: Decimal
    relativity: Decimal
    pure_premium: Decimal
    expense_loading: Decimal
    profit_loading: Decimal
    table: RatingTable


def refuse(path: list[str | int], code: InsErrorCode | UserErrorCode, message: str, *, in_query: bool) -> Exception:
    """Bad input: `userErrors` in a mutation (`InputInvalid`), `BAD_USER_INPUT` naming the field in a query."""
    if in_query:
        return BadUserInputError(f"{'.'.join(str(p) for p in path)}: {message}")
    return invalid(path, code, message)


def relativity_of(
    table: RatingTable, factors: dict[str, Any], path: list[str | int], *, in_query: bool = False
) -> Decimal:
    """The product of the relativities of the given factor levels; a name or level the table
    lacks is `UNKNOWN_RATING_FACTOR` on that factor (factors not given count as 1)."""
    known = {(f["name"], f["level"]): Decimal(f["relativity"]) for f in table.factors}
    names = {name for name, _ in known}
    product = ONE
    for name, level in factors.items():
        if name not in names:
            message = f"The {table.line} table has no factor {name}"
            raise refuse([*path, name], InsErrorCode.UNKNOWN_RATING_FACTOR, message, in_query=in_query)
        if not isinstance(level, str) or (name, level) not in known:
            message = f"{name} has no level {level!r}"
            raise refuse([*path, name], InsErrorCode.UNKNOWN_RATING_FACTOR, message, in_query=in_query)
        product *= known[(name, level)]
    return product


def price(table: RatingTable, seen: Experience, relativity: Decimal, sum_insured: Decimal) -> Quote:
    """The quote's arithmetic (the module's docstring), pure: no statement, no rounding before the end."""
    n = Decimal(seen.claims)
    base_frequency, base_severity = Decimal(table.base_frequency), Decimal(table.base_severity)
    z = min(ONE, (n / Decimal(table.full_credibility_claims)).sqrt())
    observed = n / seen.exposure_years if seen.exposure_years > 0 else base_frequency
    observed_severity = seen.severity_sum / n if n > 0 else base_severity
    blended = z * observed + (ONE - z) * base_frequency
    severity = z * observed_severity + (ONE - z) * base_severity
    pure = blended * severity * relativity * sum_insured
    expense, profit = Decimal(table.expense_loading), Decimal(table.profit_loading)
    gross = pure / (ONE - expense - profit)
    return Quote(
        premium=gross.quantize(CENT, rounding=ROUND_HALF_UP),
        base_frequency=_six(base_frequency),
        observed_frequency=_six(observed),
        credibility=_six(z),
        blended_frequency=_six(blended),
        expected_severity=_six(severity),
        relativity=_six(relativity),
        pure_premium=pure.quantize(CENT, rounding=ROUND_HALF_UP),
        expense_loading=expense,
        profit_loading=profit,
        table=table,
    )


def check_sum_insured(value: Any, path: list[str | int], *, in_query: bool = False) -> Decimal:
    if not isinstance(value, Decimal) or not value.is_finite() or not Decimal(0) < value <= Decimal("1e12"):
        message = "sumInsured must be above 0 and at most 1000000000000"
        raise refuse(path, UserErrorCode.INVALID, message, in_query=in_query)
    if value != value.quantize(CENT):
        raise refuse(path, UserErrorCode.INVALID, "sumInsured has at most 2 decimal places", in_query=in_query)
    return value


def check_factors(value: Any, path: list[str | int], *, in_query: bool = False) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict) or len(value) > 50:
        message = "ratingFactors must be an object of at most 50 factor levels"
        raise refuse(path, UserErrorCode.INVALID, message, in_query=in_query)
    return value


def quote(session: Session, principal: Principal, line: str, sum_insured: Any, factors: Any) -> Quote:
    """The premium for a cover, rated with the line's current table; reads only, writes nothing."""
    require(principal.permissions, READ)
    amount = check_sum_insured(sum_insured, ["input", "sumInsured"], in_query=True)
    levels = check_factors(factors, ["input", "ratingFactors"], in_query=True)
    table = current_table(session, line)
    relativity = relativity_of(table, levels, ["input", "ratingFactors"], in_query=True)
    return price(table, experience(session, line), relativity, amount)
