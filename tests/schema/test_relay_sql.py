"""The SQL writers of `saas.schema.relay`, run by PostgreSQL, write the text of their Python twins."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import orjson
import pytest
from sqlalchemy import text

from saas.runtime import Runtime
from saas.schema.compiler import SortKey, json_string, json_value
from saas.schema.relay import (
    encode_cursor,
    global_id_sql,
    iso_datetime,
    iso_datetime_sql,
    plain_json_string_sql,
    to_global_id,
)

ID = uuid.UUID("0a0b69a1-32a4-4f1c-9d0c-9d2f2f63fa4e")
WHOLE_SECOND = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC)  # microseconds 0: still written
EAST = datetime(2026, 3, 4, 5, 6, 7, 891, tzinfo=timezone(timedelta(hours=2)))
AWKWARD = 'Ärger "GmbH" \\ 東京\nline\ttab'


def _scalar(runtime: Runtime, sql: str, **params: Any) -> Any:
    with runtime.engine.connect() as conn:
        return conn.execute(text(sql), params).scalar_one()


@pytest.mark.parametrize(
    ("sort", "values"),
    [
        (SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True), [WHOLE_SECOND, ID]),
        (SortKey(("created_at", "id"), ("timestamptz", "uuid"), descending=True), [EAST, ID]),
        (SortKey(("name", "id"), ("varchar", "uuid"), descending=False), [AWKWARD, ID]),
        (SortKey(("name", "id"), ("text", "uuid"), descending=False), [None, ID]),
        (SortKey(("id",), ("bigint",), descending=True), [-9_007_199_254_740_993]),
        (
            SortKey(("occurred_at", "id", "kind"), ("timestamptz", "uuid", "varchar"), descending=True),
            [EAST, ID, "Note"],
        ),
    ],
)
def test_a_cursor_written_by_postgresql_is_the_resolvers(runtime: Runtime, sort: SortKey, values: list[Any]) -> None:
    columns = ", ".join(
        f"CAST(:v{i} AS {cast}) AS {c}" for i, (c, cast) in enumerate(zip(sort.columns, sort.casts, strict=True))
    )
    params = {f"v{i}": value for i, value in enumerate(values)}
    written = _scalar(runtime, f"SELECT {sort.cursor_sql('x')} FROM (SELECT {columns}) x", **params)
    row = SimpleNamespace(**dict(zip(sort.columns, values, strict=True)))
    assert written == encode_cursor(sort.cursor_values(row))
    assert "\n" not in written
    # ... and the text `json_build_array(…)::text` wrote before (values as to_json writes them).
    array = ", ".join(
        f"""to_char(x.{c} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""
        if cast == "timestamptz"
        else f"x.{c}"
        for c, cast in zip(sort.columns, sort.casts, strict=True)
    )
    built = f"translate(encode(convert_to(json_build_array({array})::text, 'UTF8'), 'base64'), E'\\n', '')"
    assert written == _scalar(runtime, f"SELECT {built} FROM (SELECT {columns}) x", **params)


@pytest.mark.parametrize(
    "type_name",
    [
        "Lead",
        "InsPolicy",
        "AutoFreightShipment",
        "NineteenCharsTypeNm",  # 56 bytes with its uuid: the longest without a break
        "TwentyCharsTypeName_",  # 57 bytes: one full line, and PostgreSQL's break after it
        "AVeryLongTypeNameOfTwentySixChars",
    ],
)
def test_a_global_id_written_by_postgresql_is_one_line_as_to_global_id_writes_it(
    runtime: Runtime, type_name: str
) -> None:
    """A type name of 20 characters or more makes the id 57 bytes or more: PostgreSQL's base64
    breaks its line there, `to_global_id` does not."""
    written = _scalar(
        runtime, f"SELECT {global_id_sql(type_name, 'x.id')} FROM (SELECT CAST(:id AS uuid) AS id) x", id=ID
    )
    assert written == to_global_id(type_name, ID)


def test_plain_strings_are_the_relay_writers_over_a_column_only() -> None:
    assert plain_json_string_sql(global_id_sql("Lead", "e.id"))
    assert plain_json_string_sql(global_id_sql("Member", "t12.owner_id"))
    assert plain_json_string_sql(iso_datetime_sql("e.created_at"))
    assert plain_json_string_sql(iso_datetime_sql('t2."on"'))
    assert not plain_json_string_sql("e.name")
    assert not plain_json_string_sql("upper(e.status)")
    assert not plain_json_string_sql(iso_datetime_sql("now()"))
    assert not plain_json_string_sql(global_id_sql("Lead", "e.id || e.name"))
    assert not plain_json_string_sql(global_id_sql("Lead", "e.id") + " || e.name")
    assert not plain_json_string_sql("to_char(e.starts_on, 'YYYY-MM-DD')")
    assert json_value("e.name") == "COALESCE(to_json(e.name)::text, 'null')"
    assert json_value(iso_datetime_sql("e.created_at")) == json_string(iso_datetime_sql("e.created_at"))


@pytest.mark.parametrize("value", [WHOLE_SECOND, EAST, None])
def test_a_quoted_date_time_is_to_jsons_text(runtime: Runtime, value: datetime | None) -> None:
    expression = iso_datetime_sql("x.at")
    quoted, by_to_json = (
        _scalar(runtime, f"SELECT {sql} FROM (SELECT CAST(:at AS timestamptz) AS at) x", at=value)
        for sql in (json_value(expression), f"COALESCE(to_json({expression})::text, 'null')")
    )
    assert quoted == by_to_json
    assert orjson.loads(quoted) == (iso_datetime(value) if value is not None else None)


@pytest.mark.parametrize("value", [ID, None])
def test_a_quoted_global_id_is_to_jsons_text(runtime: Runtime, value: uuid.UUID | None) -> None:
    expression = global_id_sql("Lead", "x.id")
    quoted, by_to_json = (
        _scalar(runtime, f"SELECT {sql} FROM (SELECT CAST(:id AS uuid) AS id) x", id=value)
        for sql in (json_value(expression), f"COALESCE(to_json({expression})::text, 'null')")
    )
    assert quoted == by_to_json == ("null" if value is None else f'"{to_global_id("Lead", value)}"')
