"""The condition language of automation rules: checked on save, evaluated on each event's payload.

A condition is JSON: `{"all": [...]}`, `{"any": [...]}`, `{"not": {...}}`, or a leaf
`{"field": "customer.tier", "op": "eq", "value": "gold"}`. `field` is a dotted path into the
event's payload (object keys, or list indexes as digits); a path the payload lacks reads as
null. Operators: `eq ne in gt gte lt lte contains`, and those enabled plugins add
(`AutomationCondition`, named `<plugin>.<name>`). `{}` (and `{"all": []}`) matches every event.

Comparisons are Decimal-safe: when both sides read as numbers (JSON numbers or numeric
strings, such as the API's money strings "1200.50"), they compare as `Decimal`, so "10.0"
equals 10 and "9.99" < "10"; ISO dates and date-times compare as such; anything else is
not ordered (gt/gte/lt/lte are false). `contains` is a case-insensitive substring of a string,
or a member of a list. Bounded: depth `MAX_DEPTH`, `MAX_NODES` nodes, `MAX_LIST` values in `in`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from saas.errors import FieldError, UserErrorCode

MAX_DEPTH = 6
MAX_NODES = 100
MAX_LIST = 100
MAX_TEXT = 500
OPERATORS = ("eq", "ne", "in", "gt", "gte", "lt", "lte", "contains")
ORDERED = ("gt", "gte", "lt", "lte")
COMBINATORS = ("all", "any", "not")
_SEGMENT = r"(?:[A-Za-z_][A-Za-z0-9_]{0,63}|\d{1,4})"
PATH = re.compile(rf"^[A-Za-z_][A-Za-z0-9_]{{0,63}}(?:\.{_SEGMENT}){{0,9}}$")

PluginCheck = Callable[[str, Any], str | None]
"""`check(operator, value)`: a plugin operator's problem with a leaf's value, or None."""
PluginTest = Callable[[str, Any, Any], bool]
"""`test(operator, actual, value)`: a plugin operator's verdict on the payload's value."""


def resolve(payload: Any, path: str) -> Any:
    """The value at the dotted `path` of `payload`, or None when it has none."""
    value = payload
    for part in path.split("."):
        if isinstance(value, dict):
            value = value.get(part)
        elif isinstance(value, list) and part.isdigit() and int(part) < len(value):
            value = value[int(part)]
        else:
            return None
    return value


def valid_path(path: Any) -> bool:
    return isinstance(path, str) and bool(PATH.match(path))


# -- checking ---------------------------------------------------------------------------------


class _Check:
    def __init__(self, prefix: list[str], plugin_ops: Mapping[str, PluginCheck]) -> None:
        self.prefix = prefix
        self.plugin_ops = plugin_ops
        self.errors: list[FieldError] = []
        self.nodes = 0

    def fail(self, path: list[str], code: UserErrorCode, message: str) -> None:
        self.errors.append(FieldError([*self.prefix, *path], code, message))

    def node(self, node: Any, path: list[str], depth: int) -> None:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            if self.nodes == MAX_NODES + 1:
                self.fail(path, UserErrorCode.TOO_LARGE, f"conditions may have at most {MAX_NODES} nodes")
            return
        if depth > MAX_DEPTH:
            self.fail(path, UserErrorCode.TOO_DEEP, f"conditions may nest at most {MAX_DEPTH} levels")
            return
        if not isinstance(node, dict):
            self.fail(path, UserErrorCode.TYPE_MISMATCH, "a condition must be an object")
            return
        combinators = [key for key in COMBINATORS if key in node]
        if combinators:
            if len(node) != 1:
                self.fail(path, UserErrorCode.INVALID, "a combinator node has exactly one key: all, any or not")
                return
            key = combinators[0]
            inner = node[key]
            if key == "not":
                self.node(inner, [*path, key], depth + 1)
            elif not isinstance(inner, list):
                self.fail([*path, key], UserErrorCode.TYPE_MISMATCH, f"{key} takes a list of conditions")
            else:
                for index, child in enumerate(inner):
                    self.node(child, [*path, key, str(index)], depth + 1)
            return
        if not node and depth == 1:
            return  # `{}`: every event
        self.leaf(node, path)

    def leaf(self, node: dict[str, Any], path: list[str]) -> None:
        unknown = sorted(set(node) - {"field", "op", "value"})
        if unknown or "field" not in node or "op" not in node:
            self.fail(
                path, UserErrorCode.INVALID, 'a condition is {"field": ..., "op": ..., "value": ...} or all/any/not'
            )
            return
        if not valid_path(node["field"]):
            self.fail([*path, "field"], UserErrorCode.INVALID_PATH, "field must be a dotted path such as customer.tier")
        op, value = node["op"], node.get("value")
        if not isinstance(op, str) or (op not in OPERATORS and op not in self.plugin_ops):
            self.fail([*path, "op"], UserErrorCode.UNKNOWN_OPERATOR, f"op must be one of {', '.join(OPERATORS)}")
            return
        if op in self.plugin_ops:
            problem = self.plugin_ops[op](op, value)
            if problem:
                self.fail([*path, "value"], UserErrorCode.TYPE_MISMATCH, problem[:MAX_TEXT])
            return
        problem = _value_problem(op, value)
        if problem:
            self.fail([*path, "value"], UserErrorCode.TYPE_MISMATCH, problem)


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def _value_problem(op: str, value: Any) -> str | None:
    if isinstance(value, str) and len(value) > MAX_TEXT:
        return f"value must be at most {MAX_TEXT} characters"
    if op in ("eq", "ne"):
        return None if _is_scalar(value) else f"{op} compares with a string, number, boolean or null"
    if op == "in":
        if not isinstance(value, list) or not 1 <= len(value) <= MAX_LIST:
            return f"in takes a list of 1 to {MAX_LIST} values"
        if not all(_is_scalar(item) and not (isinstance(item, str) and len(item) > MAX_TEXT) for item in value):
            return "in takes strings, numbers, booleans or nulls"
        return None
    if op in ORDERED:
        if _number(value) is None and _moment(value) is None:
            return f"{op} compares with a number, a numeric string or an ISO date"
        return None
    # contains
    if value is None or not _is_scalar(value) or value == "":
        return "contains takes a non-empty string, a number or a boolean"
    return None


def check_conditions(
    conditions: Any, prefix: list[str], plugin_ops: Mapping[str, PluginCheck] | None = None
) -> list[FieldError]:
    """The problems of a condition tree, each on its path (`prefix` + the node's keys and indexes)."""
    check = _Check(prefix, plugin_ops or {})
    check.node(conditions, [], 1)
    return check.errors


# -- evaluating -------------------------------------------------------------------------------


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float | Decimal):
        number = Decimal(str(value))
    elif isinstance(value, str):
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            return None
    else:
        return None
    return number if number.is_finite() else None


def _moment(value: Any) -> datetime | None:
    if not isinstance(value, str) or len(value) < 10:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        moment = datetime.fromisoformat(text) if "T" in text or " " in text else None
        if moment is None:
            day = date.fromisoformat(text)
            moment = datetime(day.year, day.month, day.day)
    except ValueError:
        return None
    return moment.replace(tzinfo=None) if moment.tzinfo is None else moment


def _equal(actual: Any, value: Any) -> bool:
    left, right = _number(actual), _number(value)
    if left is not None and right is not None:
        return left == right
    if isinstance(actual, bool) != isinstance(value, bool):
        return False
    return bool(actual == value)


def _order(actual: Any, value: Any) -> int | None:
    left, right = _number(actual), _number(value)
    if left is not None and right is not None:
        return (left > right) - (left < right)
    first, second = _moment(actual), _moment(value)
    if first is None or second is None or (first.tzinfo is None) != (second.tzinfo is None):
        return None
    return (first > second) - (first < second)


def _contains(actual: Any, value: Any) -> bool:
    if isinstance(actual, list):
        return any(_equal(item, value) for item in actual)
    if isinstance(actual, str):
        return str(value).casefold() in actual.casefold()
    return False


def _leaf(op: str, actual: Any, value: Any) -> bool:
    if op == "eq":
        return _equal(actual, value)
    if op == "ne":
        return not _equal(actual, value)
    if op == "in":
        return any(_equal(actual, item) for item in value)
    if op == "contains":
        return _contains(actual, value)
    order = _order(actual, value)
    if order is None:
        return False
    return {"gt": order > 0, "gte": order >= 0, "lt": order < 0, "lte": order <= 0}[op]


def evaluate(conditions: dict[str, Any], payload: dict[str, Any], plugin_test: PluginTest | None = None) -> bool:
    """Whether the payload matches a condition tree that `check_conditions` accepted.

    A plugin operator is asked through `plugin_test`; without one (the plugin is not enabled any
    more) its leaf is false."""
    if "all" in conditions:
        return all(evaluate(child, payload, plugin_test) for child in conditions["all"])
    if "any" in conditions:
        return any(evaluate(child, payload, plugin_test) for child in conditions["any"])
    if "not" in conditions:
        return not evaluate(conditions["not"], payload, plugin_test)
    if not conditions:
        return True
    op, actual, value = conditions["op"], resolve(payload, conditions["field"]), conditions.get("value")
    if op in OPERATORS:
        return _leaf(op, actual, value)
    return plugin_test is not None and plugin_test(op, actual, value)
