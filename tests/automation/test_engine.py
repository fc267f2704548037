"""Running rules in the dispatcher: at most once per event, the loop guard, disabled rules, plugins, isolation."""

from __future__ import annotations

import threading
import time

from sqlalchemy import select, text

from saas.automation.engine import MAX_CAUSATION_DEPTH, RuleRunner
from saas.events.dispatch import _to_domain_event
from saas.events.models import OutboxEvent
from saas.events.outbox import emit_event
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.automation.support import (
    CREATE,
    ENABLE_PLUGIN,
    UPDATE,
    UPDATE_CUSTOMER,
    count,
    create_customer,
    create_rule,
    customer,
    dispatch_all,
    ok,
    runs,
)
from tests.conftest import GraphQLClient, TenantHandle

NOTIFY_OWNERS = [{"type": "notify", "title": "New customer {customer.name}", "roles": ["OWNER"]}]


def test_a_rule_runs_once_per_event_when_the_event_is_dispatched_again(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    rule = create_rule(owner, actions=NOTIFY_OWNERS)
    create_customer(owner, "Acme")
    dispatch_all(runtime, tenant.id)
    with tenant_session(runtime.engine, tenant.id) as session:  # as if the batch were delivered again
        session.execute(text("UPDATE outbox_events SET dispatched_at = NULL"))
    dispatch_all(runtime, tenant.id)
    assert runs(runtime, tenant.id, rule["id"]) == [("SUCCEEDED", None, 0)]
    assert count(runtime, tenant.id, "notifications", "kind = 'automation'") == 1


def test_two_dispatchers_on_one_event_run_the_rule_once(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    rule = create_rule(owner, actions=NOTIFY_OWNERS)
    create_customer(owner, "Acme")
    with tenant_session(runtime.engine, tenant.id) as session:
        event = _to_domain_event(
            session.scalars(select(OutboxEvent).where(OutboxEvent.type == "customer.created")).one()
        )
    second: list[list] = []

    def other_dispatcher() -> None:
        with tenant_session(runtime.engine, tenant.id) as session:
            runner = RuleRunner(session, tenant.id, runtime.plugins, {})
            second.append(runner.handle(event, lambda t, p: emit_event(session, t, p)))

    with tenant_session(runtime.engine, tenant.id) as first:
        RuleRunner(first, tenant.id, runtime.plugins, {}).handle(event, lambda t, p: emit_event(first, t, p))
        thread = threading.Thread(target=other_dispatcher)
        thread.start()
        _wait_for_a_lock_wait(runtime)  # the other dispatcher waits on this run's row
    thread.join(timeout=30)
    assert second == [[]]
    assert runs(runtime, tenant.id, rule["id"]) == [("SUCCEEDED", None, 0)]
    assert count(runtime, tenant.id, "notifications", "kind = 'automation'") == 1


def _wait_for_a_lock_wait(runtime: Runtime) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        with runtime.engine.connect() as conn:
            waiting = conn.execute(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
                )
            ).scalar_one()
        if waiting:
            return
        time.sleep(0.02)
    raise AssertionError("the second dispatcher never waited for the first")


def test_rules_triggering_themselves_stop_at_the_depth_limit(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    rule = create_rule(
        owner,
        trigger="customer.updated",
        actions=[{"type": "set_field", "field": "source", "value": "automation"}],
    )
    acme = create_customer(owner, "Acme")
    ok(owner, UPDATE_CUSTOMER, {"id": acme["id"], "version": acme["version"], "tier": "gold"}, "updateCustomer")
    dispatch_all(runtime, tenant.id)
    expected = [("SUCCEEDED", None, depth) for depth in range(MAX_CAUSATION_DEPTH)]
    assert runs(runtime, tenant.id, rule["id"]) == [*expected, ("SKIPPED", "DEPTH_LIMIT", MAX_CAUSATION_DEPTH)]
    depths = count(
        runtime, tenant.id, "outbox_events", f"type = 'customer.updated' AND causation_depth = {MAX_CAUSATION_DEPTH}"
    )
    assert depths == 1


def test_disabled_and_deleted_rules_do_not_run(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    disabled = create_rule(owner, name="Off", enabled=False, actions=[{"type": "add_tag", "tag": "off"}])
    deleted = create_rule(owner, name="Gone", actions=[{"type": "add_tag", "tag": "gone"}])
    owner.data(
        "mutation($input: DeleteAutomationRuleInput!) { deleteAutomationRule(input: $input) { automationRule { id } } }",
        {"input": {"id": deleted["id"]}},
    )
    first = create_customer(owner, "First")["id"]
    dispatch_all(runtime, tenant.id)
    assert customer(owner, first)["tags"] == []
    assert runs(runtime, tenant.id, disabled["id"]) == [] and runs(runtime, tenant.id, deleted["id"]) == []
    ok(owner, UPDATE, {"id": disabled["id"], "enabled": True}, "updateAutomationRule")
    second = create_customer(owner, "Second")["id"]
    dispatch_all(runtime, tenant.id)
    assert customer(owner, second)["tags"] == ["off"]
    assert customer(owner, first)["tags"] == []  # an event before the rule was enabled is not run later


def test_conditions_decide_and_leave_no_run_when_they_do_not_match(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    rule = create_rule(
        owner,
        conditions={
            "any": [
                {"field": "customer.tier", "op": "in", "value": ["gold", "platinum"]},
                {"field": "customer.name", "op": "contains", "value": "bank"},
            ]
        },
        actions=[{"type": "add_tag", "tag": "key-account"}],
    )
    ids = [
        create_customer(owner, name, tier=tier)["id"]
        for name, tier in (("A", "gold"), ("Big Bank", "silver"), ("C", "silver"))
    ]
    dispatch_all(runtime, tenant.id)
    assert [customer(owner, c)["tags"] for c in ids] == [["key-account"], ["key-account"], []]
    assert len(runs(runtime, tenant.id, rule["id"])) == 2


def test_another_tenants_events_never_run_a_tenants_rules(
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    runtime: Runtime,
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    dispatch_requests: list,
) -> None:
    rule = create_rule(owner, actions=[{"type": "add_tag", "tag": "a-rule"}])
    theirs = create_customer(other_owner, "Theirs")["id"]
    dispatch_all(runtime, other_tenant.id)
    dispatch_all(runtime, tenant.id)
    assert customer(other_owner, theirs)["tags"] == []
    assert runs(runtime, tenant.id, rule["id"]) == []
    # Raw SQL in the other tenant's session: row-level security alone hides the rule and its runs.
    assert count(runtime, other_tenant.id, "automation_runs") == 0
    assert count(runtime, other_tenant.id, "automation_rules") == 0


def test_a_plugins_action_condition_and_trigger(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    award = {"type": "loyalty.award_points", "points": 50, "reason": "Automation welcome"}
    at_least = {"field": "customer.id", "op": "loyalty.points_at_least"}
    ok(owner, ENABLE_PLUGIN, {"name": "loyalty", "settings": {"welcomePoints": 0}}, "enablePlugin")
    create_rule(owner, name="Award", actions=[award])
    create_rule(
        owner,
        name="Loyal",
        trigger="customer.updated",
        conditions={**at_least, "value": 50},
        actions=[{"type": "add_tag", "tag": "loyal"}],
    )
    create_rule(
        owner,
        name="Very loyal",
        trigger="customer.updated",
        conditions={**at_least, "value": 51},
        actions=[{"type": "add_tag", "tag": "very-loyal"}],
    )
    adjusted = create_rule(
        owner,
        name="On points",
        trigger="loyalty.points_adjusted",
        conditions={"field": "balance", "op": "gte", "value": 50},
        actions=NOTIFY_OWNERS,
    )
    bad = {"name": "x", "trigger": "customer.created", "conditions": {}, "actions": [{**award, "points": 0}]}
    assert [e["code"] for e in owner.data(CREATE, {"input": bad})["createAutomationRule"]["userErrors"]] == ["INVALID"]
    acme = create_customer(owner, "Acme")
    dispatch_all(runtime, tenant.id)
    points = owner.data("query($id: ID!) { customer(id: $id) { loyaltyPoints } }", {"id": acme["id"]})
    assert points["customer"]["loyaltyPoints"] == 50
    assert runs(runtime, tenant.id, adjusted["id"]) == [("SUCCEEDED", None, 1)]  # caused by the award
    ok(owner, UPDATE_CUSTOMER, {"id": acme["id"], "version": acme["version"], "tier": "gold"}, "updateCustomer")
    dispatch_all(runtime, tenant.id)
    assert customer(owner, acme["id"])["tags"] == ["loyal"]


def test_a_rule_whose_plugin_was_disabled_fails_its_plugin_action(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    ok(owner, ENABLE_PLUGIN, {"name": "loyalty", "settings": {"welcomePoints": 0}}, "enablePlugin")
    rule = create_rule(owner, actions=[{"type": "loyalty.award_points", "points": 5}])
    owner.data('mutation { disablePlugin(input: {name: "loyalty"}) { plugin { name } } }')
    create_customer(owner, "Acme")
    dispatch_all(runtime, tenant.id)
    assert runs(runtime, tenant.id, rule["id"]) == [("FAILED", "PLUGIN_NOT_ENABLED", 0)]


def test_concurrent_runs_take_successive_round_robin_turns(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    from tests.automation.support import CREATE_TEAM, member_id
    from tests.conftest import add_member

    reps = sorted(member_id(add_member(owner, tenant, "sales")) for _ in range(2))
    team = ok(owner, CREATE_TEAM, {"name": "Inbound", "managerId": member_id(owner), "memberIds": reps}, "createTeam")
    create_rule(owner, actions=[{"type": "assign_owner", "teamId": team["team"]["id"]}])
    first_id, second_id = (create_customer(owner, name)["id"] for name in ("First", "Second"))
    with tenant_session(runtime.engine, tenant.id) as session:
        rows = session.scalars(
            select(OutboxEvent).where(OutboxEvent.type == "customer.created").order_by(OutboxEvent.seq)
        )
        events = [_to_domain_event(row) for row in rows]

    def run(event_index: int) -> None:
        with tenant_session(runtime.engine, tenant.id) as session:
            RuleRunner(session, tenant.id, runtime.plugins, {}).handle(
                events[event_index], lambda t, p: emit_event(session, t, p)
            )

    with tenant_session(runtime.engine, tenant.id) as first:
        RuleRunner(first, tenant.id, runtime.plugins, {}).handle(events[0], lambda t, p: emit_event(first, t, p))
        thread = threading.Thread(target=run, args=(1,))
        thread.start()
        _wait_for_a_lock_wait(runtime)  # the second run waits for the first's turn on the cursor
    thread.join(timeout=30)
    owners = {customer(owner, c)["owner"]["id"] for c in (first_id, second_id)}
    assert sorted(owners) == reps
