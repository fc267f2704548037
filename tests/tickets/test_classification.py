"""Auto-classification: keywords (Chinese too), RE2 patterns, tier and channel; first match in position order."""

from __future__ import annotations

import re
from typing import Any

from saas.runtime import Runtime
from saas.tickets.classification import check_pattern, compiled
from tests.conftest import GraphQLClient
from tests.tickets.support import (
    CREATE_RULE,
    DELETE_RULE,
    NODE,
    REORDER_RULES,
    RULES,
    SET_SLA,
    SET_TYPE,
    TYPES,
    UPDATE_RULE,
    count,
    create_customer,
    create_ticket,
    errors,
    events,
    ok,
)


def rule(client: GraphQLClient, **fields: Any) -> dict[str, Any]:
    fields.setdefault("name", "A rule")
    fields.setdefault("setType", "complaint")
    return ok(client, CREATE_RULE, fields, "createClassificationRule")["classificationRule"]


def test_the_default_types(owner: GraphQLClient) -> None:
    types = owner.data(TYPES)["ticketTypes"]
    assert [t["key"] for t in types] == ["complaint", "exchange", "inquiry", "onsite", "repair", "return"]
    assert all(t["skills"] == [t["key"]] for t in types)
    saved = ok(
        owner, SET_TYPE, {"key": "warranty", "name": "Warranty", "skills": ["Repair", "warranty"]}, "setTicketType"
    )
    assert saved["ticketType"] == {"key": "warranty", "name": "Warranty", "skills": ["repair", "warranty"]}
    assert "warranty" in [t["key"] for t in owner.data(TYPES)["ticketTypes"]]
    assert errors(owner, SET_TYPE, {"key": "Bad Key!", "name": "x"}, "setTicketType") == [(["input", "key"], "INVALID")]
    assert errors(owner, SET_TYPE, {"key": "ok", "name": ""}, "setTicketType") == [(["input", "name"], "REQUIRED")]


def test_keywords_match_any_case_and_chinese(owner: GraphQLClient) -> None:
    refund = rule(owner, name="Returns", keywords=["退货", "REFUND"], setType="return", setPriority="HIGH")
    customer = create_customer(owner)
    chinese = create_ticket(owner, customer, subject="我要退货", body="质量有问题")
    english = create_ticket(owner, customer, subject="Please refund me", body="It broke")
    other = create_ticket(owner, customer, subject="Opening hours?", body="When are you open")
    assert (chinese["type"], chinese["priority"], chinese["classifiedBy"]) == (
        "return",
        "HIGH",
        {"id": refund["id"], "name": "Returns"},
    )
    assert english["type"] == "return"
    assert (other["type"], other["priority"], other["classifiedBy"]) == ("inquiry", "NORMAL", None)


def test_the_first_match_in_position_order_wins(owner: GraphQLClient) -> None:
    broad = rule(owner, name="Broad", keywords=["broken"], setType="repair")
    narrow = rule(owner, name="Narrow", keywords=["broken"], channel="phone", setType="onsite", setPriority="URGENT",
                  position=1)  # fmt: skip
    assert [r["name"] for r in owner.data(RULES)["classificationRules"]] == ["Narrow", "Broad"]
    customer = create_customer(owner)
    by_phone = create_ticket(owner, customer, subject="Machine broken", channel="PHONE")
    by_mail = create_ticket(owner, customer, subject="Machine broken", channel="email")
    assert (by_phone["type"], by_phone["priority"]) == ("onsite", "URGENT")
    assert by_mail["type"] == "repair"
    reordered = ok(owner, REORDER_RULES, {"ids": [broad["id"], narrow["id"]]}, "reorderClassificationRules")
    assert [(r["id"], r["position"]) for r in reordered["classificationRules"]] == [(broad["id"], 1), (narrow["id"], 2)]
    assert create_ticket(owner, customer, subject="Machine broken", channel="phone")["type"] == "repair"
    ok(owner, DELETE_RULE, {"id": broad["id"]}, "deleteClassificationRule")
    assert create_ticket(owner, customer, subject="Machine broken", channel="phone")["type"] == "onsite"
    # A deleted rule still names the tickets it classified.
    assert by_mail["classifiedBy"]["id"] == broad["id"]


def test_patterns_tiers_and_channels(owner: GraphQLClient) -> None:
    rule(owner, name="Order numbers", pattern=r"order\s*#?\d{5,}", setType="exchange")
    rule(owner, name="Gold", customerTier="gold", setType="complaint", setPriority="URGENT")
    plain, gold = create_customer(owner), create_customer(owner, "Gold Co", tier="Gold")
    assert create_ticket(owner, plain, subject="Wrong size", body="ORDER #123456 came in XL")["type"] == "exchange"
    assert create_ticket(owner, plain, subject="Wrong size", body="order 12")["type"] == "inquiry"
    gold_ticket = create_ticket(owner, gold, subject="Anything")
    assert (gold_ticket["type"], gold_ticket["priority"]) == ("complaint", "URGENT")


def test_a_pathological_pattern_cannot_hang_classification(owner: GraphQLClient) -> None:
    """`(a+)+$` against 9,000 a's and a b: a backtracking engine (Python's `re`) tries every way of
    splitting the a's and never finishes (the run's timeout fails the test); RE2 answers "no match"
    in one pass."""
    assert not isinstance(compiled("(a+)+$"), re.Pattern)
    rule(owner, name="Nested", pattern="(a+)+$", setType="repair")
    customer = create_customer(owner)
    assert create_ticket(owner, customer, subject="x", body="a" * 9_000 + "b")["type"] == "inquiry"
    assert create_ticket(owner, customer, subject="x", body="a" * 9_000)["type"] == "repair"  # the rule applies


def test_patterns_are_checked_on_save(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    assert check_pattern(r"(\w+)\s\1") is not None  # back-references need backtracking: refused
    assert check_pattern("(?=x)") is not None
    assert check_pattern("[a-") is not None
    assert check_pattern(r"退[货款]") is None
    bad = [
        ({"name": "x", "pattern": "(unclosed", "setType": "repair"}, (["input", "pattern"], "INVALID")),
        ({"name": "x", "pattern": r"(a)\1", "setType": "repair"}, (["input", "pattern"], "INVALID")),
        ({"name": "x", "pattern": "a" * 501, "setType": "repair"}, (["input", "pattern"], "TOO_LONG")),
        ({"name": "", "keywords": ["a"], "setType": "repair"}, (["input", "name"], "REQUIRED")),
        ({"name": "n" * 101, "keywords": ["a"], "setType": "repair"}, (["input", "name"], "TOO_LONG")),
        ({"name": "x", "setType": "repair"}, (["input"], "REQUIRED")),
        ({"name": "x", "keywords": ["a"], "setType": "nope"}, (["input", "setType"], "NOT_FOUND")),
        ({"name": "x", "keywords": ["a"], "setType": "repair", "position": 0}, (["input", "position"], "OUT_OF_RANGE")),
        ({"name": "x", "keywords": ["k" * 101], "setType": "repair"}, (["input", "keywords"], "TOO_LONG")),
    ]
    for variables, expected in bad:
        assert errors(owner, CREATE_RULE, variables, "createClassificationRule") == [expected], variables
    assert count(runtime, tenant.id, "classification_rules") == 0
    made = rule(owner, keywords=["x"])
    assert errors(owner, UPDATE_RULE, {"id": made["id"], "pattern": "(a"}, "updateClassificationRule") == [
        (["input", "pattern"], "INVALID")
    ]
    assert errors(owner, UPDATE_RULE, {"id": made["id"], "keywords": []}, "updateClassificationRule") == [
        (["input"], "REQUIRED")
    ]
    updated = ok(owner, UPDATE_RULE, {"id": made["id"], "name": "Renamed", "pattern": "y+"}, "updateClassificationRule")
    assert updated["classificationRule"]["name"] == "Renamed"
    assert errors(owner, REORDER_RULES, {"ids": []}, "reorderClassificationRules") == [(["input", "ids"], "INVALID")]
    assert errors(owner, REORDER_RULES, {"ids": [made["id"], made["id"]]}, "reorderClassificationRules") == [
        (["input", "ids"], "INVALID")
    ]
    assert [kind for kind, _ in events(runtime, tenant.id, "classification_rule")] == [
        "classification_rule.created",
        "classification_rule.updated",
    ]


def test_rules_belong_to_their_tenant(owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any) -> None:
    made = rule(owner, keywords=["x"])
    assert other_owner.data(RULES)["classificationRules"] == []
    assert other_owner.error_codes(NODE, {"id": made["id"]}) == ["NOT_FOUND"]
    assert owner.data(NODE, {"id": made["id"]})["node"]["name"] == "A rule"
    for query, variables, field in (
        (UPDATE_RULE, {"id": made["id"], "name": "Mine"}, "updateClassificationRule"),
        (DELETE_RULE, {"id": made["id"]}, "deleteClassificationRule"),
    ):
        assert errors(other_owner, query, variables, field) == [(["input", "id"], "NOT_FOUND")]
    assert errors(other_owner, REORDER_RULES, {"ids": [made["id"]]}, "reorderClassificationRules") == [
        (["input", "ids"], "NOT_FOUND")
    ]
    # A ticket type is its tenant's too: unknown to the other one's list, rules and SLA policies.
    ok(owner, SET_TYPE, {"key": "warranty", "name": "Warranty", "skills": ["repair"]}, "setTicketType")
    assert "warranty" not in [t["key"] for t in other_owner.data(TYPES)["ticketTypes"]]
    assert errors(
        other_owner, CREATE_RULE, {"name": "x", "keywords": ["a"], "setType": "warranty"}, "createClassificationRule"
    ) == [(["input", "setType"], "NOT_FOUND")]
    sla = {"type": "warranty", "priority": "NORMAL", "firstResponseMinutes": 60, "resolutionMinutes": 480}
    assert errors(other_owner, SET_SLA, sla, "setSlaPolicy") == [(["input", "type"], "NOT_FOUND")]
    # Only managers set rules up.
    from tests.conftest import add_member

    agent = add_member(owner, tenant, "service")
    assert agent.error_codes(CREATE_RULE, {"input": {"name": "x", "keywords": ["a"], "setType": "repair"}}) == [
        "FORBIDDEN"
    ]
