"""`SqlCondition.given`: an optional filter is added only when its value is given, bound once."""

from __future__ import annotations

import pytest

from saas.db.conditions import SqlCondition


def test_a_missing_value_adds_nothing() -> None:
    condition = SqlCondition()
    condition.given("r.status", "f_status", None, convert=lambda v: v.upper())
    assert (condition.parts, condition.params, condition.sql) == ([], {}, "TRUE")


def test_a_given_value_is_bound_converted_and_compared_with_the_operator() -> None:
    condition = SqlCondition()
    condition.given("r.status", "f_status", "open", convert=str.upper)
    condition.given("r.due_on", "f_due_before", "2026-12-01", op="<")
    condition.given("r.active", "f_active", False)  # falsy, but given
    assert condition.parts == ["r.status = :f_status", "r.due_on < :f_due_before", "r.active = :f_active"]
    assert condition.params == {"f_status": "OPEN", "f_due_before": "2026-12-01", "f_active": False}


def test_a_parameter_bound_twice_is_refused() -> None:
    condition = SqlCondition()
    condition.add("r.owner_id = :owner_id", owner_id=1)
    with pytest.raises(ValueError, match="owner_id"):
        condition.given("r.other_id", "owner_id", 2)
    assert condition.params == {"owner_id": 1}
