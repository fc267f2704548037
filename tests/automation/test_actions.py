"""Each built-in action, run by the outbox dispatcher through the domain services."""

from __future__ import annotations

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.automation.support import (
    CREATE_TEAM,
    CREATE_WEBHOOK,
    DEFINE_FIELD,
    RULES_WITH_RUNS,
    count,
    create_customer,
    create_rule,
    customer,
    dispatch_all,
    member_id,
    ok,
    runs,
)
from tests.conftest import GraphQLClient, TenantHandle, add_member


def test_assign_owner_goes_round_the_team(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    reps = sorted(member_id(add_member(owner, tenant, "sales")) for _ in range(2))
    team = ok(owner, CREATE_TEAM, {"name": "Inbound", "managerId": member_id(owner), "memberIds": reps}, "createTeam")
    create_rule(owner, actions=[{"type": "assign_owner", "teamId": team["team"]["id"]}])
    created = [create_customer(owner, f"C{n}")["id"] for n in range(3)]
    dispatch_all(runtime, tenant.id)
    owners = [customer(owner, c)["owner"]["id"] for c in created]
    assert sorted(owners[:2]) == reps and owners[2] == owners[0]  # each in turn, then again


def test_create_task_for_the_owner_with_the_payload_in_its_title(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    me = member_id(owner)
    create_rule(owner, actions=[{"type": "create_task", "title": "Welcome call to {customer.name}", "dueInDays": 2}])
    acme = create_customer(owner, "Acme", ownerId=me)
    no_owner = create_customer(owner, "Nobody's")
    dispatch_all(runtime, tenant.id)
    tasks = owner.data("{ myAgenda { today { title } upcoming { title } overdue { title } } }")["myAgenda"]
    assert [t["title"] for t in tasks["upcoming"]] == ["Welcome call to Acme"]
    rule_runs = owner.data(RULES_WITH_RUNS)["automationRules"][0]["runs"]
    assert sorted((r["outcome"], (r["error"] or "").split(":")[0]) for r in rule_runs) == [
        ("FAILED", "NO_ASSIGNEE"),
        ("SUCCEEDED", ""),
    ]
    assert acme and no_owner


def test_set_field_and_add_tag_through_the_customer_service(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
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
    create_rule(
        owner,
        conditions={"field": "customer.tier", "op": "eq", "value": "gold"},
        actions=[
            {"type": "set_field", "field": "source", "value": "automation"},
            {"type": "set_field", "field": "lifecycleStage", "value": "CUSTOMER"},
            {"type": "set_field", "field": "customFields.segment", "value": "enterprise"},
            {"type": "add_tag", "tag": "vip"},
            {"type": "add_tag", "tag": "vip"},
        ],
    )
    gold = create_customer(owner, "Gold", tier="gold", tags=["north"])["id"]
    plain = create_customer(owner, "Plain", tier="silver")["id"]
    dispatch_all(runtime, tenant.id)
    changed = customer(owner, gold)
    assert (changed["source"], changed["lifecycleStage"], changed["customFields"], changed["tags"]) == (
        "automation",
        "CUSTOMER",
        {"segment": "enterprise"},
        ["north", "vip"],
    )
    assert customer(owner, plain)["tags"] == []
    with tenant_session(runtime.engine, tenant.id) as session:
        actors = session.scalars(text("SELECT DISTINCT actor_label FROM audit_log WHERE action = 'customer.updated'"))
        assert list(actors) == ["automation rule A rule"]


def test_notify_roles_and_the_owner_once(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    rep = add_member(owner, tenant, "sales")
    create_rule(
        owner,
        actions=[{"type": "notify", "title": "New customer {customer.name}", "roles": ["OWNER"], "toOwner": True}],
    )
    create_customer(owner, "Acme", ownerId=member_id(owner))
    create_customer(rep, "Beta")
    dispatch_all(runtime, tenant.id)
    titles = [
        e["node"]["title"]
        for e in owner.data("{ notifications(first: 10) { edges { node { title kind } } } }")["notifications"]["edges"]
    ]
    assert sorted(titles) == ["New customer Acme", "New customer Beta"]  # the owner is notified once per event
    rep_titles = [
        e["node"]["title"]
        for e in rep.data("{ notifications(first: 10) { edges { node { title } } } }")["notifications"]["edges"]
    ]
    assert rep_titles == ["New customer Beta"]


def test_call_webhook_makes_a_signed_delivery_through_the_webhooks(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    hook = ok(
        owner,
        CREATE_WEBHOOK,
        {"url": "https://example.com/hook", "events": ["lead.created"], "secret": "s3cret-s3cret-s3cret"},
        "createWebhook",
    )["webhook"]["id"]
    rule = create_rule(owner, actions=[{"type": "call_webhook", "webhookId": hook}])
    create_customer(owner, "Acme")
    deliveries = dispatch_all(runtime, tenant.id)
    assert len(deliveries) == 1  # enqueued after commit, like the webhook's own deliveries
    with tenant_session(runtime.engine, tenant.id) as session:
        row = session.execute(text("SELECT event_type, payload FROM webhook_deliveries")).one()
    assert row.event_type == "customer.created"
    assert row.payload["customer"]["name"] == "Acme"
    assert row.payload["automationRule"] == {"id": rule["id"], "name": "A rule"}


def test_create_lead_in_the_pool(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    create_rule(
        owner,
        trigger="contact.created",
        actions=[
            {"type": "create_lead", "name": "{contact.name}", "email": "{contact.email}", "note": "From a contact"}
        ],
    )
    acme = create_customer(owner, "Acme")["id"]
    owner.data(
        "mutation($input: CreateContactInput!) { createContact(input: $input) { contact { id } } }",
        {"input": {"customerId": acme, "name": "Pat Buyer", "email": "pat@example.com"}},
    )
    dispatch_all(runtime, tenant.id)
    leads = owner.data("{ leads(first: 5) { edges { node { name email status } } } }")["leads"]["edges"]
    assert [e["node"] for e in leads] == [{"name": "Pat Buyer", "email": "pat@example.com", "status": "POOL"}]
    assert count(runtime, tenant.id, "activities", "summary = 'From a contact'") == 1


def test_a_failing_action_undoes_the_rules_writes_and_others_still_run(
    owner: GraphQLClient, runtime: Runtime, tenant: TenantHandle, dispatch_requests: list
) -> None:
    broken = create_rule(
        owner, name="Broken", actions=[{"type": "add_tag", "tag": "first"}, {"type": "create_task", "title": "No one"}]
    )
    working = create_rule(owner, name="Working", actions=[{"type": "add_tag", "tag": "second"}])
    acme = create_customer(owner, "Acme")["id"]
    dispatch_all(runtime, tenant.id)
    assert customer(owner, acme)["tags"] == ["second"]
    assert runs(runtime, tenant.id, broken["id"]) == [("FAILED", "NO_ASSIGNEE", 0)]
    assert runs(runtime, tenant.id, working["id"]) == [("SUCCEEDED", None, 0)]
