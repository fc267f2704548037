"""Relay conventions in one place: opaque global ids, keyset cursors, page sizes."""

from __future__ import annotations

import base64
import binascii
import json
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

import orjson

from saas.errors import BadUserInputError, NotFoundError

DEFAULT_PAGE_SIZE = 20


def to_global_id(type_name: str, raw_id: uuid.UUID | str | int) -> str:
    return base64.b64encode(f"{type_name}:{raw_id}".encode()).decode()


def global_id_sql(type_name: str, column: str) -> str:
    """The same encoding as `to_global_id`, computed by PostgreSQL."""
    return f"encode(convert_to('{type_name}:' || {column}::text, 'UTF8'), 'base64')"


# Per operation: each internal id decoded from a global id, to the global id the client sent.
_sent_ids: ContextVar[dict[str, str] | None] = ContextVar("sent_global_ids", default=None)


@contextmanager
def remembering_sent_ids() -> Iterator[None]:
    """Within this block, `from_global_id` remembers what it decoded (for `shown_id`).

    The engine opens it around one operation. The mapping is one dict shared by reference, so
    resolvers in child tasks and worker threads (which run in copies of the context) add to it.
    """
    token = _sent_ids.set({})
    try:
        yield
    finally:
        _sent_ids.reset(token)


def shown_id(value: str) -> str | None:
    """An id as an error may show it: the global id the client sent for it, never an internal id.

    Services name what they did not find by internal id. One the client sent (as a global id)
    is shown as it was sent; any other internal id is left out (None); a value that is no
    internal id is something the client sent, and is shown as it is.
    """
    sent = (_sent_ids.get() or {}).get(value)
    if sent is not None:
        return sent
    try:
        uuid.UUID(value)
    except ValueError:
        return value
    return None


def from_global_id(global_id: str, expected_type: str | None = None) -> tuple[str, uuid.UUID]:
    """Decode an id; a malformed id or one of another type is NOT_FOUND, like a missing one."""
    sent = _sent_ids.get()
    if sent is not None:
        sent[global_id] = global_id
    try:
        type_name, _, raw = base64.b64decode(global_id.encode(), validate=True).decode().partition(":")
        parsed = uuid.UUID(raw)
    except (binascii.Error, UnicodeDecodeError, ValueError) as exc:
        raise NotFoundError("Not found", id=global_id) from exc
    if expected_type is not None and type_name != expected_type:
        raise NotFoundError("Not found", id=global_id)
    if sent is not None:
        sent.setdefault(str(parsed), global_id)
    return type_name, parsed


def decode_id(global_id: str, expected_type: str) -> uuid.UUID:
    return from_global_id(global_id, expected_type)[1]


def iso_datetime(value: datetime) -> str:
    """Date-times leave the API in one form: UTC, microseconds always written."""
    return value.astimezone(UTC).isoformat(timespec="microseconds")


def iso_datetime_sql(expression: str) -> str:
    """The same form as `iso_datetime`, written by PostgreSQL."""
    return f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_datetime(value)
    return str(value) if isinstance(value, uuid.UUID) else value


def encode_cursor(values: list[Any]) -> str:
    """Base64 of the JSON array of the sort key, written as PostgreSQL writes it (`cursor_sql`)."""
    text = json.dumps([_cursor_value(v) for v in values], ensure_ascii=False, separators=(", ", ": "))
    return base64.b64encode(text.encode()).decode()


def cursor_sql(value_expressions: list[str]) -> str:
    """A cursor computed by PostgreSQL: base64 of the JSON array of the sort key."""
    array = f"json_build_array({', '.join(value_expressions)})::text"
    return f"translate(encode(convert_to({array}, 'UTF8'), 'base64'), E'\\n', '')"


def _valid_cursor_value(value: Any, sql_type: str) -> bool:
    if sql_type == "bigint":
        return isinstance(value, int) and not isinstance(value, bool)
    if not isinstance(value, str) or "\x00" in value:
        return False
    try:
        if sql_type == "uuid":
            uuid.UUID(value)
        elif sql_type == "timestamptz":
            datetime.fromisoformat(value)
    except ValueError:
        return False
    return True


def decode_cursor(cursor: str, sql_types: tuple[str, ...]) -> list[Any]:
    """The sort key inside a cursor, each value checked against its SQL type; else BAD_USER_INPUT."""
    try:
        values = orjson.loads(base64.b64decode(cursor.encode(), validate=True))
    except (binascii.Error, orjson.JSONDecodeError, ValueError) as exc:
        raise BadUserInputError("Invalid cursor", argument="after") from exc
    if not isinstance(values, list) or len(values) != len(sql_types):
        raise BadUserInputError("Invalid cursor", argument="after")
    if not all(_valid_cursor_value(v, t) for v, t in zip(values, sql_types, strict=True)):
        raise BadUserInputError("Invalid cursor", argument="after")
    return values


def page_size(first: int | None, maximum: int) -> int:
    if first is None:
        return DEFAULT_PAGE_SIZE
    if first < 0:
        raise BadUserInputError("first must not be negative", argument="first")
    if first > maximum:
        raise BadUserInputError(f"first must be at most {maximum}", argument="first", maximum=maximum)
    return first
