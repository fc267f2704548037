"""A column's JSON written without `to_json` (`compiler._column_json`) and a joined relation's row
read by the columns its JSON names (`compiler._joined_columns`): the same text as before."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import text

from saas.runtime import Runtime
from saas.schema import compiler
from saas.schema.compiler import json_value

# A row of `opportunities`' declared columns (`version` integer, `amount` numeric,
# `expected_close_on` date, `name` text), each value as the statement reads it.
ROW = (
    "(SELECT CAST(:version AS integer) AS version, CAST(:amount AS numeric) AS amount,"
    " CAST(:on AS date) AS expected_close_on, CAST(:name AS varchar) AS name) x"
)


def _both(runtime: Runtime, mapping: str, **values: Any) -> tuple[str, str, str]:
    """The column's JSON as `_column_json` writes it, as `to_json` writes it, and the SQL of the first."""
    written = compiler._column_json("opportunities", mapping, "x")
    params = {"version": None, "amount": None, "on": None, "name": None, **values}
    with runtime.engine.connect() as conn:
        ours, by_to_json = (
            conn.execute(text(f"SELECT {sql} FROM {ROW}"), params).scalar_one()
            for sql in (written, json_value(mapping.format(t="x")))
        )
    return ours, by_to_json, written


@pytest.mark.parametrize("value", [0, -7, 2_147_483_647, None])
def test_an_integer_column_is_its_text(runtime: Runtime, value: int | None) -> None:
    ours, by_to_json, written = _both(runtime, "{t}.version", version=value)
    assert "to_json" not in written
    assert ours == by_to_json == ("null" if value is None else str(value))


@pytest.mark.parametrize(
    "value", [Decimal("1234.50"), Decimal("-0.01"), Decimal("0"), Decimal("1.5E+30"), Decimal("NaN"), None]
)
def test_a_decimals_text_is_quoted(runtime: Runtime, value: Decimal | None) -> None:
    ours, by_to_json, written = _both(runtime, "({t}.amount)::text", amount=value)
    assert "to_json" not in written
    assert ours == by_to_json
    assert ours == "null" if value is None else ours.startswith('"')


@pytest.mark.parametrize("value", [date(2026, 3, 4), date(1, 1, 1), "infinity", None])
def test_a_dates_text_is_quoted(runtime: Runtime, value: date | str | None) -> None:
    ours, by_to_json, written = _both(runtime, "to_char({t}.expected_close_on, 'YYYY-MM-DD')", on=value)
    assert "to_json" not in written
    assert ours == by_to_json


@pytest.mark.parametrize(
    ("table", "mapping"),
    [
        ("opportunities", "{t}.name"),  # text: escaped by to_json
        ("opportunities", "({t}.name)::text"),  # text, not a number
        ("opportunities", "{t}.amount"),  # a numeric as it is: to_json's number
        ("opportunities", "{t}.expected_close_on"),  # a date as to_json writes it
        ("opportunities", "{t}.version + 1"),  # an expression
        ("opportunities", "{t}.no_such_column"),
        ("no_such_table", "{t}.version"),
    ],
)
def test_anything_else_goes_through_to_json(table: str, mapping: str) -> None:
    assert compiler._column_json(table, mapping, "x") == json_value(mapping.format(t="x"))


def test_text_that_needs_escaping_is_still_escaped(runtime: Runtime) -> None:
    ours, by_to_json, _ = _both(runtime, "{t}.name", name='Bolt "&" \\ Nut\n')
    assert ours == by_to_json == '"Bolt \\"&\\" \\\\ Nut\\n"'


def test_a_joined_row_holds_its_id_and_the_columns_read() -> None:
    inner = "concat('{\"name\":', COALESCE(to_json(t1.name)::text, 'null'), ',\"at\":', t1.\"created_at\", '}')"
    assert compiler._joined_columns("customers", "t1", inner) == 't1."id", t1."name", t1."created_at"'
    # another alias that starts with the same letters is not this one's
    assert compiler._joined_columns("customers", "t1", "concat(t11.name, t1.name)") == 't1."id", t1."name"'


@pytest.mark.parametrize(
    ("table", "inner"),
    [
        ("customers", "row_to_json(t1)::text"),  # the whole row
        ("customers", "concat(t1.name, t1.not_a_column)"),
        ("no_such_table", "t1.name"),
    ],
)
def test_a_joined_row_is_whole_when_its_columns_are_not_known(table: str, inner: str) -> None:
    assert compiler._joined_columns(table, "t1", inner) == "*"
