"""The condition language: each operator and combinator, Decimal-safe comparisons, and the checks on save."""

from __future__ import annotations

from typing import Any

import pytest

from saas.automation.conditions import MAX_DEPTH, MAX_LIST, MAX_NODES, check_conditions, evaluate, resolve

PAYLOAD: dict[str, Any] = {
    "customer": {
        "id": "Q3VzdG9tZXI6MQ==",
        "name": "Acme Trading",
        "tier": "gold",
        "tags": ["vip", "north"],
        "owner": None,
        "revenue": "1200.50",
        "employees": 40,
        "createdAt": "2026-11-30T10:00:00.000Z",
        "signedOn": "2026-11-01",
        "active": True,
    },
    "lines": [{"amount": "9.99"}, {"amount": "10"}],
}


def leaf(field: str, op: str, value: Any) -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        (leaf("customer.tier", "eq", "gold"), True),
        (leaf("customer.tier", "eq", "silver"), False),
        (leaf("customer.tier", "ne", "silver"), True),
        (leaf("customer.tier", "ne", "gold"), False),
        (leaf("customer.owner", "eq", None), True),
        (leaf("customer.missing", "eq", None), True),
        (leaf("customer.missing", "ne", None), False),
        (leaf("customer.active", "eq", True), True),
        (leaf("customer.active", "eq", 1), False),  # a boolean is not a number
        (leaf("customer.tier", "in", ["silver", "gold"]), True),
        (leaf("customer.tier", "in", ["silver", "bronze"]), False),
        (leaf("customer.employees", "in", ["40.0", 7]), True),  # numbers compare as Decimals
        (leaf("customer.revenue", "gt", 1200), True),
        (leaf("customer.revenue", "gt", "1200.50"), False),
        (leaf("customer.revenue", "gte", "1200.5"), True),
        (leaf("customer.revenue", "lt", "1200.51"), True),
        (leaf("customer.revenue", "lte", "1200.49"), False),
        (leaf("customer.revenue", "eq", "1200.500"), True),  # money strings: Decimal-safe
        (leaf("customer.employees", "gte", "40"), True),
        (leaf("lines.0.amount", "lt", "10"), True),  # "9.99" < "10" as numbers, not as text
        (leaf("lines.1.amount", "lt", "10"), False),
        (leaf("lines.5.amount", "lt", "10"), False),  # no such line: not ordered
        (leaf("customer.tier", "gt", 1), False),  # text is not ordered against a number
        (leaf("customer.createdAt", "gt", "2026-11-29T00:00:00Z"), True),
        (leaf("customer.signedOn", "lt", "2026-11-02"), True),
        (leaf("customer.signedOn", "gte", "2026-12-01"), False),
        (leaf("customer.name", "contains", "TRADING"), True),  # case-insensitive
        (leaf("customer.name", "contains", "Widgets"), False),
        (leaf("customer.tags", "contains", "vip"), True),
        (leaf("customer.tags", "contains", "south"), False),
        (leaf("customer.employees", "contains", 4), False),  # a number has no parts
    ],
)
def test_each_operator(condition: dict[str, Any], expected: bool) -> None:
    assert check_conditions(condition, ["c"]) == []
    assert evaluate(condition, PAYLOAD) is expected


def test_the_combinators() -> None:
    gold = leaf("customer.tier", "eq", "gold")
    small = leaf("customer.employees", "lt", 10)
    assert evaluate({"all": [gold, {"not": small}]}, PAYLOAD) is True
    assert evaluate({"all": [gold, small]}, PAYLOAD) is False
    assert evaluate({"any": [small, gold]}, PAYLOAD) is True
    assert evaluate({"any": [small, {"not": gold}]}, PAYLOAD) is False
    assert evaluate({"not": {"any": [small]}}, PAYLOAD) is True
    assert evaluate({"all": []}, PAYLOAD) is True and evaluate({"any": []}, PAYLOAD) is False
    assert evaluate({}, PAYLOAD) is True  # no conditions: every event


def test_paths_read_objects_and_list_indexes() -> None:
    assert resolve(PAYLOAD, "lines.1.amount") == "10"
    assert resolve(PAYLOAD, "customer.name.first") is None
    assert resolve(PAYLOAD, "customer.tags.9") is None


def _codes(condition: Any) -> list[tuple[list[str], str]]:
    return [(e.field, str(e.code)) for e in check_conditions(condition, ["input", "conditions"])]


def test_each_check_names_its_code_and_the_path_to_the_node() -> None:
    deep: dict[str, Any] = leaf("customer.tier", "eq", "gold")
    for _ in range(MAX_DEPTH):
        deep = {"not": deep}
    assert _codes(deep) == [(["input", "conditions", *["not"] * MAX_DEPTH], "TOO_DEEP")]
    big = {"any": [leaf("customer.tier", "eq", str(n)) for n in range(MAX_NODES)]}
    assert _codes(big) == [(["input", "conditions", "any", str(MAX_NODES - 1)], "TOO_LARGE")]
    assert _codes({"all": [leaf("customer.tier", "like", "g%")]}) == [
        (["input", "conditions", "all", "0", "op"], "UNKNOWN_OPERATOR")
    ]
    for bad_path in ("", "customer..tier", "customer.tier!", ".tier", "a" * 65, 7, "1.customer"):
        assert _codes(leaf(bad_path, "eq", 1)) == [(["input", "conditions", "field"], "INVALID_PATH")], bad_path
    mismatches = [
        leaf("customer.tier", "in", "gold"),
        leaf("customer.tier", "in", []),
        leaf("customer.tier", "in", list(range(MAX_LIST + 1))),
        leaf("customer.tier", "in", [{"a": 1}]),
        leaf("customer.revenue", "gt", "lots"),
        leaf("customer.revenue", "gt", True),
        leaf("customer.revenue", "lte", None),
        leaf("customer.tier", "eq", {"a": 1}),
        leaf("customer.tier", "ne", [1]),
        leaf("customer.name", "contains", ""),
        leaf("customer.name", "contains", None),
        leaf("customer.name", "eq", "x" * 501),
    ]
    for condition in mismatches:
        assert _codes(condition) == [(["input", "conditions", "value"], "TYPE_MISMATCH")], condition
    assert _codes({"any": "gold"}) == [(["input", "conditions", "any"], "TYPE_MISMATCH")]
    assert _codes(["gold"]) == [(["input", "conditions"], "TYPE_MISMATCH")]
    assert _codes({"all": [], "any": []}) == [(["input", "conditions"], "INVALID")]
    assert _codes({"field": "customer.tier", "op": "eq", "value": 1, "extra": 2}) == [
        (["input", "conditions"], "INVALID")
    ]
    assert _codes({"all": [{}]}) == [(["input", "conditions", "all", "0"], "INVALID")]  # {} only at the top
    two = _codes({"all": [leaf("x.y", "nope", 1), leaf("bad path", "eq", 1)]})
    assert two == [
        (["input", "conditions", "all", "0", "op"], "UNKNOWN_OPERATOR"),
        (["input", "conditions", "all", "1", "field"], "INVALID_PATH"),
    ]


def test_a_plugin_operator_is_checked_and_asked_by_the_plugin() -> None:
    def check(op: str, value: Any) -> str | None:
        return None if isinstance(value, int) else "a whole number"

    condition = leaf("customer.employees", "acme.more_than", 30)
    assert check_conditions(condition, ["c"], {"acme.more_than": check}) == []
    assert [e.code for e in check_conditions(leaf("x", "acme.more_than", "x"), ["c"], {"acme.more_than": check})] == [
        "TYPE_MISMATCH"
    ]
    assert [e.code for e in check_conditions(condition, ["c"])] == ["UNKNOWN_OPERATOR"]  # not enabled
    assert evaluate(condition, PAYLOAD, lambda op, actual, value: actual > value) is True
    assert evaluate(condition, PAYLOAD) is False  # the plugin is gone: its leaf is false
