"""Rows as JSON Lines and back, with their types kept: uuids and timestamps as text (ISO 8601),
numerics as strings (never floats), bytes in base64, arrays as lists, JSON as it is.

Encoding needs no knowledge of the table: the values say what they are. Decoding reads the
column types of the table it restores into (the manifest has already proven the schema the same).
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

import orjson
from sqlalchemy import ARRAY, JSON, Date, DateTime, Interval, LargeBinary, Numeric, Table, Time, Uuid
from sqlalchemy.types import TypeEngine

Decoder = Callable[[Any], Any]


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode("ascii")
    if isinstance(value, timedelta):
        return value.total_seconds()
    raise TypeError(f"cannot export a {type(value).__name__}")


def encode_row(row: Mapping[Any, Any]) -> bytes:
    """One JSON line (with its newline)."""
    return orjson.dumps(dict(row), default=_default, option=orjson.OPT_APPEND_NEWLINE | orjson.OPT_NON_STR_KEYS)


def _identity(value: Any) -> Any:
    return value


def _decoder(column_type: TypeEngine[Any]) -> Decoder:
    if isinstance(column_type, ARRAY):
        item = _decoder(column_type.item_type)
        return lambda values: [None if v is None else item(v) for v in values]
    if isinstance(column_type, JSON):
        return _identity
    if isinstance(column_type, Uuid):
        return lambda v: uuid.UUID(str(v))
    if isinstance(column_type, Numeric) and column_type.asdecimal:
        return lambda v: Decimal(str(v))
    if isinstance(column_type, DateTime):
        return datetime.fromisoformat
    if isinstance(column_type, Date):
        return date.fromisoformat
    if isinstance(column_type, Time):
        return time.fromisoformat
    if isinstance(column_type, Interval):
        return lambda v: timedelta(seconds=float(v))
    if isinstance(column_type, LargeBinary):
        return base64.b64decode
    return _identity


def row_decoder(table: Table) -> Callable[[bytes], dict[str, Any]]:
    """Parse a line of `table`'s file into the values to insert; unknown columns are an error."""
    decoders = {c.name: _decoder(c.type) for c in table.columns}

    def decode(line: bytes) -> dict[str, Any]:
        raw = orjson.loads(line)
        if not isinstance(raw, dict):
            raise ValueError("a row is not a JSON object")
        unknown = set(raw) - decoders.keys()
        if unknown:
            raise ValueError(f"columns not in {table.name}: {', '.join(sorted(unknown))}")
        return {name: None if value is None else decoders[name](value) for name, value in raw.items()}

    return decode
