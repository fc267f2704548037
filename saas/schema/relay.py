"""Relay conventions in one place: opaque global ids, keyset cursors, page sizes."""

from __future__ import annotations

import base64
import binascii
import json
import re
import uuid
from contextvars import ContextVar, Token
from datetime import UTC, datetime
from typing import Any

import orjson

from saas.errors import BadUserInputError, NotFoundError

DEFAULT_PAGE_SIZE = 20


def to_global_id(type_name: str, raw_id: uuid.UUID | str | int) -> str:
    return base64.b64encode(f"{type_name}:{raw_id}".encode()).decode()


def global_id_sql(type_name: str, column: str) -> str:
    """The same encoding as `to_global_id`, computed by PostgreSQL.

    PostgreSQL's `encode(…, 'base64')` breaks its output into lines of 76 characters, a break
    after every 57 bytes, the last ones too (an id of 57 bytes or more); `to_global_id` writes one line, so the breaks are removed (`replace` finds none
    in a shorter id, at no measurable cost). The text is then only base64's letters, digits, `+`,
    `/` and `=`: a JSON string's contents as it is (`plain_json_string_sql`)."""
    return f"replace(encode(convert_to('{type_name}:' || {column}::text, 'UTF8'), 'base64'), E'\\n', '')"


# Per operation: each internal id decoded from a global id, to the global id the client sent.
_sent_ids: ContextVar[dict[str, str] | None] = ContextVar("sent_global_ids", default=None)


class remembering_sent_ids:  # entered as `with remembering_sent_ids()`, as the function it was
    """Within this block, `from_global_id` remembers what it decoded (for `shown_id`).

    The engine opens it around one operation. The mapping is one dict shared by reference, so
    resolvers in child tasks and worker threads (which run in copies of the context) add to it.
    Each entry sets a new dict and the exit resets the variable whatever the block raised (the
    exception goes on), as a generator's `try`/`finally` would, without the generator and its
    context-manager wrapper per operation.
    """

    __slots__ = ("_token",)

    _token: Token[dict[str, str] | None]

    def __enter__(self) -> None:
        self._token = _sent_ids.set({})

    def __exit__(self, *exc_info: object) -> None:
        _sent_ids.reset(self._token)


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
    """The same form as `iso_datetime`, written by PostgreSQL: digits and `-:.T+` only, a JSON
    string's contents as it is (`plain_json_string_sql`)."""
    return f"""to_char({expression} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"+00:00"')"""


# A column of a row a compiled statement reads (`e.id`, `t3.created_at`, `t2."on"`).
_COLUMN = r'\w+\.(?:\w+|"\w+")'
# The text of this module's SQL writers over a column, which never needs JSON escaping.
_PLAIN_STRING_SQL = re.compile(
    "|".join(
        re.escape(writer).replace("TYPE", r"\w+").replace("COLUMN", _COLUMN)
        for writer in (global_id_sql("TYPE", "COLUMN"), iso_datetime_sql("COLUMN"))
    )
)


def plain_json_string_sql(expression: str) -> bool:
    """Whether `expression` is a global id or a date-time of a column written by this module: text
    without `"`, `\\` or control characters, whose JSON is the text in quotes (no `to_json`, which
    looks up how to write its argument's type on every call)."""
    return _PLAIN_STRING_SQL.fullmatch(expression) is not None


def _cursor_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_datetime(value)
    return str(value) if isinstance(value, uuid.UUID) else value


def encode_cursor(values: list[Any]) -> str:
    """Base64 of the JSON array of the sort key, written as PostgreSQL writes it (`cursor_sql`)."""
    text = json.dumps([_cursor_value(v) for v in values], ensure_ascii=False, separators=(", ", ": "))
    return base64.b64encode(text.encode()).decode()


def cursor_sql(values: list[tuple[str, str]]) -> str:
    """A cursor computed by PostgreSQL: base64 of the JSON array of the sort key, the text
    `json_build_array(…)::text` writes (`[a, b]`, each value as `to_json` writes it), one line.

    `values` are (expression, SQL type) pairs; a date-time's expression is its text
    (`iso_datetime_sql`). Values of a type whose text needs no escaping are written directly, the
    array's text by `concat`, the line breaks removed by `replace`: `json_build_array`, `to_json`
    and `translate` cost about a tenth of a list's statement (docs/performance.md, "The lists'
    statements"). The result is base64, a JSON string's contents as it is."""
    parts: list[str] = []
    for expression, sql_type in values:
        parts.append("', '" if parts else "'['")
        if sql_type in ("timestamptz", "uuid"):
            parts.append(f"""COALESCE('"' || {expression} || '"', 'null')""")
        elif sql_type == "bigint":
            parts.append(f"COALESCE({expression}::text, 'null')")
        else:
            parts.append(f"COALESCE(to_json({expression})::text, 'null')")
    parts.append("']'")
    array = f"concat({', '.join(parts)})"
    return f"replace(encode(convert_to({array}, 'UTF8'), 'base64'), E'\\n', '')"


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
