"""Managing automation rules: create, read, update, delete; every validation code; permissions; isolation."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saas.runtime import Runtime
from tests.automation.support import (
    CREATE,
    CREATE_TEAM,
    CREATE_WEBHOOK,
    DEFINE_FIELD,
    DELETE,
    NODE,
    RULES,
    RULES_WITH_RUNS,
    UPDATE,
    count,
    create_rule,
    errors,
    member_id,
    ok,
)
from tests.conftest import GraphQLClient, TenantHandle, add_member

TAG = [{"type": "add_tag", "tag": "vip"}]


def test_create_list_update_delete(owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle) -> None:
    conditions = {"all": [{"field": "customer.tier", "op": "eq", "value": "gold"}]}
    rule = create_rule(owner, name="Tag gold customers", conditions=conditions, actions=TAG)
    assert {k: rule[k] for k in ("name", "enabled", "trigger", "conditions", "actions", "version")} == {
        "name": "Tag gold customers",
        "enabled": True,
        "trigger": "customer.created",
        "conditions": conditions,
        "actions": TAG,
        "version": 1,
    }
    listed = owner.data(RULES)["automationRules"]
    assert listed == [rule]  # the compiled read writes what the mutation returned
    assert owner.data(RULES_WITH_RUNS)["automationRules"][0]["runs"] == []
    assert owner.data(NODE, {"id": rule["id"]})["node"] == {
        "__typename": "AutomationRule",
        "id": rule["id"],
        "name": "Tag gold customers",
        "trigger": "customer.created",
    }
    updated = ok(owner, UPDATE, {"id": rule["id"], "enabled": False, "version": 1}, "updateAutomationRule")
    assert (updated["automationRule"]["enabled"], updated["automationRule"]["version"]) == (False, 2)
    assert owner.error_codes(UPDATE, {"input": {"id": rule["id"], "name": "Stale", "version": 1}}) == ["CONFLICT"]
    ok(owner, DELETE, {"id": rule["id"]}, "deleteAutomationRule")
    assert owner.data(RULES)["automationRules"] == []
    assert errors(owner, DELETE, {"id": rule["id"]}, "deleteAutomationRule") == [(["input", "id"], "NOT_FOUND")]
    types = [t for t in _event_types(runtime, tenant) if t.startswith("automation_rule.")]
    assert types == ["automation_rule.created", "automation_rule.updated", "automation_rule.deleted"]


def _event_types(runtime: Runtime, tenant: TenantHandle) -> list[str]:
    from sqlalchemy import text

    from saas.tenancy.session import tenant_session

    with tenant_session(runtime.engine, tenant.id) as session:
        return list(session.scalars(text("SELECT type FROM outbox_events ORDER BY seq")))


def _leaf(op: str = "eq", value: Any = "gold", field: str = "customer.tier") -> dict[str, Any]:
    return {"field": field, "op": op, "value": value}


BAD_RULES: list[tuple[dict[str, Any], list[tuple[list[str], str]]]] = [
    ({"name": ""}, [(["input", "name"], "REQUIRED")]),
    ({"name": "x" * 101}, [(["input", "name"], "TOO_LONG")]),
    ({"trigger": "customer.exploded"}, [(["input", "trigger"], "UNKNOWN_TRIGGER")]),
    ({"trigger": "customer.*"}, [(["input", "trigger"], "UNKNOWN_TRIGGER")]),
    ({"trigger": " "}, [(["input", "trigger"], "REQUIRED")]),
    ({"trigger": "loyalty.points_adjusted"}, [(["input", "trigger"], "PLUGIN_NOT_ENABLED")]),
    ({"conditions": {"any": [_leaf("like")]}}, [(["input", "conditions", "any", "0", "op"], "UNKNOWN_OPERATOR")]),
    ({"conditions": _leaf(field="customer..tier")}, [(["input", "conditions", "field"], "INVALID_PATH")]),
    ({"conditions": _leaf("gt", "lots")}, [(["input", "conditions", "value"], "TYPE_MISMATCH")]),
    ({"conditions": "tier = gold"}, [(["input", "conditions"], "TYPE_MISMATCH")]),
    (
        {"conditions": {"not": {"not": {"not": {"not": {"not": {"not": _leaf()}}}}}}},
        [(["input", "conditions", "not", "not", "not", "not", "not", "not"], "TOO_DEEP")],
    ),
    ({"conditions": {"any": [_leaf(value="x" * 400)] * 60}}, [(["input", "conditions"], "TOO_LARGE")]),
    (
        {"conditions": _leaf("loyalty.points_at_least", 10, "customer.id")},
        [(["input", "conditions", "op"], "UNKNOWN_OPERATOR")],
    ),
    ({"actions": []}, [(["input", "actions"], "REQUIRED")]),
    ({"actions": TAG * 11}, [(["input", "actions"], "TOO_LARGE")]),
    ({"actions": {"type": "add_tag"}}, [(["input", "actions"], "TYPE_MISMATCH")]),
    ({"actions": ["add_tag"]}, [(["input", "actions", "0"], "TYPE_MISMATCH")]),
    ({"actions": [{"type": "explode"}]}, [(["input", "actions", "0", "type"], "UNKNOWN_ACTION")]),
    (
        {"actions": [{"type": "loyalty.award_points", "points": 5}]},
        [(["input", "actions", "0", "type"], "UNKNOWN_ACTION")],
    ),
    ({"actions": [{"type": "add_tag"}]}, [(["input", "actions", "0", "tag"], "REQUIRED")]),
    ({"actions": [{"type": "add_tag", "tag": "x" * 51}]}, [(["input", "actions", "0", "tag"], "TOO_LONG")]),
    (
        {"actions": [{"type": "add_tag", "tag": "vip", "subject": "a b"}]},
        [(["input", "actions", "0", "subject"], "INVALID_PATH")],
    ),
    ({"actions": [{"type": "assign_owner"}]}, [(["input", "actions", "0", "teamId"], "REQUIRED")]),
    (
        {"actions": [{"type": "assign_owner", "teamId": "VGVhbTpub3BlOg=="}]},
        [(["input", "actions", "0", "teamId"], "NOT_FOUND")],
    ),
    ({"actions": [{"type": "assign_owner", "teamId": 5}]}, [(["input", "actions", "0", "teamId"], "TYPE_MISMATCH")]),
    ({"actions": [{"type": "create_task"}]}, [(["input", "actions", "0", "title"], "REQUIRED")]),
    (
        {"actions": [{"type": "create_task", "title": "Call {customer..name}"}]},
        [(["input", "actions", "0", "title"], "INVALID_PATH")],
    ),
    (
        {"actions": [{"type": "create_task", "title": "Call", "dueInDays": 400}]},
        [(["input", "actions", "0", "dueInDays"], "OUT_OF_RANGE")],
    ),
    (
        {"actions": [{"type": "create_task", "title": "Call", "dueInDays": "2"}]},
        [(["input", "actions", "0", "dueInDays"], "TYPE_MISMATCH")],
    ),
    (
        {"actions": [{"type": "create_task", "title": "Call", "assigneeId": "TWVtYmVyOnh5eg=="}]},
        [(["input", "actions", "0", "assigneeId"], "NOT_FOUND")],
    ),
    (
        {"actions": [{"type": "set_field", "field": "name", "value": "X"}]},
        [(["input", "actions", "0", "field"], "UNKNOWN_FIELD")],
    ),
    (
        {"actions": [{"type": "set_field", "field": "customFields.nope", "value": "X"}]},
        [(["input", "actions", "0", "field"], "UNKNOWN_FIELD")],
    ),
    (
        {"actions": [{"type": "set_field", "field": "tier", "value": 3}]},
        [(["input", "actions", "0", "value"], "TYPE_MISMATCH")],
    ),
    (
        {"actions": [{"type": "set_field", "field": "lifecycleStage", "value": "ASLEEP"}]},
        [(["input", "actions", "0", "value"], "TYPE_MISMATCH")],
    ),
    ({"actions": [{"type": "notify", "title": "Hi"}]}, [(["input", "actions", "0", "roles"], "REQUIRED")]),
    (
        {"actions": [{"type": "notify", "title": "Hi", "roles": ["KING"]}]},
        [(["input", "actions", "0", "roles"], "TYPE_MISMATCH")],
    ),
    (
        {"actions": [{"type": "call_webhook", "webhookId": "V2ViaG9vazpubw=="}]},
        [(["input", "actions", "0", "webhookId"], "NOT_FOUND")],
    ),
    ({"actions": [{"type": "create_lead"}]}, [(["input", "actions", "0", "name"], "REQUIRED")]),
    ({"actions": [{"type": "create_lead", "name": 7}]}, [(["input", "actions", "0", "name"], "TYPE_MISMATCH")]),
]


@pytest.mark.parametrize(("given", "expected"), BAD_RULES)
def test_every_validation_code_and_nothing_written(
    owner: GraphQLClient, counts: Callable[[], dict[str, int]], given: dict[str, Any], expected: list[Any]
) -> None:
    before = counts()
    variables = {"name": "Rule", "trigger": "customer.created", "conditions": {}, "actions": TAG, **given}
    assert errors(owner, CREATE, variables, "createAutomationRule") == expected
    assert counts() == before


def test_updates_are_checked_as_creates_and_write_nothing_when_refused(owner: GraphQLClient) -> None:
    rule = create_rule(owner)
    for given, expected in BAD_RULES[1:6]:
        assert errors(owner, UPDATE, {"id": rule["id"], **given}, "updateAutomationRule") == expected
    assert errors(owner, UPDATE, {"id": rule["id"], "name": None}, "updateAutomationRule") == [
        (["input", "name"], "REQUIRED")
    ]
    assert errors(owner, UPDATE, {"id": "bm9wZQ=="}, "updateAutomationRule") == [(["input", "id"], "NOT_FOUND")]
    assert owner.data(RULES)["automationRules"] == [rule]


def test_wrong_graphql_types_are_refused_before_anything_runs(owner: GraphQLClient) -> None:
    assert owner.error_codes(CREATE, {"input": {"name": "x", "trigger": 5, "conditions": {}, "actions": TAG}}) == [
        "BAD_USER_INPUT"
    ]
    assert owner.error_codes(CREATE, {"input": {"name": "x", "trigger": "customer.created", "actions": TAG}}) == [
        "BAD_USER_INPUT"
    ]
    nul = {
        "name": "x",
        "trigger": "customer.created",
        "conditions": {},
        "actions": [{"type": "add_tag", "tag": "a\u0000"}],
    }
    assert owner.error_codes(CREATE, {"input": nul}) == ["BAD_USER_INPUT"]  # the input layer refuses NUL anywhere
    create_rule(owner)
    assert owner.error_codes(RULES_WITH_RUNS.replace("first: 20", "first: 101"), {}) == ["BAD_USER_INPUT"]
    assert owner.error_codes(RULES_WITH_RUNS.replace("first: 20", "first: -1"), {}) == ["BAD_USER_INPUT"]


def test_actions_naming_records_are_checked_against_the_tenant(
    owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    team = ok(
        other_owner, CREATE_TEAM, {"name": "B team", "managerId": member_id(other_owner), "memberIds": []}, "createTeam"
    )
    hook = ok(
        other_owner,
        CREATE_WEBHOOK,
        {"url": "https://example.com/h", "events": ["*"], "secret": "s3cret-s3cret-s3cret"},
        "createWebhook",
    )
    foreign = [
        ({"type": "assign_owner", "teamId": team["team"]["id"]}, "teamId"),
        ({"type": "call_webhook", "webhookId": hook["webhook"]["id"]}, "webhookId"),
        ({"type": "create_task", "title": "Call", "assigneeId": member_id(other_owner)}, "assigneeId"),
    ]
    for action, key in foreign:
        variables = {"name": "x", "trigger": "customer.created", "conditions": {}, "actions": [action]}
        assert errors(owner, CREATE, variables, "createAutomationRule") == [
            (["input", "actions", "0", key], "NOT_FOUND")
        ]


def test_custom_fields_are_settable_with_their_own_checks(owner: GraphQLClient) -> None:
    ok(
        owner,
        DEFINE_FIELD,
        {
            "entity": "CUSTOMER",
            "key": "segment",
            "label": "Segment",
            "type": "SELECT",
            "options": ["smb", "enterprise"],
        },
        "defineCustomField",
    )
    action = {"type": "set_field", "field": "customFields.segment", "value": "mid"}
    variables = {"name": "x", "trigger": "customer.created", "conditions": {}, "actions": [action]}
    assert errors(owner, CREATE, variables, "createAutomationRule") == [
        (["input", "actions", "0", "value"], "INVALID_OPTION")
    ]
    create_rule(owner, actions=[{**action, "value": "smb"}])


def test_managing_rules_needs_automation_manage(owner: GraphQLClient, tenant: TenantHandle) -> None:
    rule = create_rule(owner)
    admin = add_member(owner, tenant, "admin")
    assert [r["id"] for r in admin.data(RULES)["automationRules"]] == [rule["id"]]
    for role in ("manager", "sales", "viewer"):
        member = add_member(owner, tenant, role)
        assert member.error_codes(RULES, {}) == ["FORBIDDEN"], role
        assert member.error_codes(NODE, {"id": rule["id"]}) == ["FORBIDDEN"], role
        variables = {"name": "x", "trigger": "customer.created", "conditions": {}, "actions": TAG}
        assert member.error_codes(CREATE, {"input": variables}) == ["FORBIDDEN"], role
        assert member.error_codes(DELETE, {"input": {"id": rule["id"]}}) == ["FORBIDDEN"], role


def test_another_tenant_cannot_see_change_or_delete_a_rule(
    owner: GraphQLClient, other_owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle
) -> None:
    rule = create_rule(owner)
    assert other_owner.data(RULES)["automationRules"] == []
    assert other_owner.error_codes(NODE, {"id": rule["id"]}) == ["NOT_FOUND"]
    assert errors(other_owner, UPDATE, {"id": rule["id"], "name": "Mine"}, "updateAutomationRule") == [
        (["input", "id"], "NOT_FOUND")
    ]
    assert errors(other_owner, DELETE, {"id": rule["id"]}, "deleteAutomationRule") == [(["input", "id"], "NOT_FOUND")]
    assert owner.data(RULES)["automationRules"] == [rule]
    assert count(runtime, tenant.id, "automation_rules", "deleted_at IS NULL") == 1


def test_the_list_is_one_statement_and_its_runs_one_more_whatever_the_number_of_rules(owner: GraphQLClient) -> None:
    create_rule(owner, name="One")
    owner.data(RULES)
    compiled = owner.last_statements
    owner.data(RULES_WITH_RUNS)
    few = owner.last_statements
    for n in range(5):
        create_rule(owner, name=f"More {n}")
    assert len(owner.data(RULES_WITH_RUNS)["automationRules"]) == 6
    assert owner.last_statements == few
    owner.data(RULES)
    assert owner.last_statements == compiled < few
