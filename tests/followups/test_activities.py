"""logActivity: on customers and contacts, the pool clock, events, bad input, isolation, visibility."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saas.runtime import Runtime
from saas.schema.relay import to_global_id
from tests.conftest import GraphQLClient, TenantHandle
from tests.followups.helpers import (
    LOG_ACTIVITY,
    NODE,
    count,
    create_contact,
    create_customer,
    errors_of,
    events,
    log_activity,
    member_id,
)


def test_an_activity_on_a_customer_is_logged_and_sets_when_it_was_last_contacted(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner)
    when = "2026-11-20T10:00:00.000000+00:00"
    activity = log_activity(owner, customer, "Discussed the renewal", occurredAt=when)
    assert activity["kind"] == "CALL"
    assert activity["summary"] == "Discussed the renewal"
    assert activity["occurredAt"] == when
    assert activity["subjectId"] == customer
    assert activity["actor"] == {"id": member_id(owner)}
    assert activity["customer"] == {"id": customer, "lastContactedAt": when}
    # An older activity does not move the clock back.
    log_activity(owner, customer, "Earlier note", occurredAt="2026-11-01T10:00:00+00:00")
    version = owner.data("query($id: ID!) { customer(id: $id) { lastContactedAt version } }", {"id": customer})
    assert version["customer"] == {"lastContactedAt": when, "version": 1}  # no new version for the clock
    [event, _] = events(runtime, tenant.id, "activity.logged")
    assert event["activity"]["id"] == activity["id"]
    assert event["activity"]["kind"] == "CALL"
    assert event["activity"]["customer"] == {"id": customer}
    assert event["activity"]["actor"] == {"id": member_id(owner)}


def test_an_activity_on_a_contact_counts_for_its_customer(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    contact = create_contact(owner, customer)
    activity = log_activity(owner, contact, "Met Jane")
    assert activity["subjectId"] == contact
    assert activity["customer"]["id"] == customer
    assert activity["customer"]["lastContactedAt"] is not None


def test_node_reads_an_activity_and_another_tenant_gets_not_found(
    owner: GraphQLClient, other_owner: GraphQLClient
) -> None:
    activity = log_activity(owner, create_customer(owner))
    assert owner.data(NODE, {"id": activity["id"]})["node"]["kind"] == "CALL"
    assert other_owner.error_codes(NODE, {"id": activity["id"]}) == ["NOT_FOUND"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"summary": ""}, (["input", "summary"], "REQUIRED")),
        ({"summary": "   "}, (["input", "summary"], "REQUIRED")),
        ({"summary": "x" * 2001}, (["input", "summary"], "TOO_LONG")),
        ({"summary": "bad\x07bell"}, (["input", "summary"], "INVALID")),
        ({"subjectId": "not-an-id"}, (["input", "subjectId"], "NOT_FOUND")),
        (
            {"subjectId": to_global_id("Product", "3f1c1c56-7d3e-4c61-9a50-0c5b8d1f2e10")},
            (["input", "subjectId"], "NOT_FOUND"),
        ),
        (
            {"subjectId": to_global_id("Customer", "3f1c1c56-7d3e-4c61-9a50-0c5b8d1f2e10")},
            (["input", "subjectId"], "NOT_FOUND"),
        ),
        ({"occurredAt": (datetime.now(UTC) + timedelta(days=1)).isoformat()}, (["input", "occurredAt"], "INVALID")),
    ],
)
def test_bad_input_is_a_coded_user_error_and_writes_nothing(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, change: dict, expected: tuple
) -> None:
    customer = create_customer(owner)
    before = count(runtime, tenant.id, "outbox_events")
    variables = {"input": {"subjectId": customer, "kind": "NOTE", "summary": "ok", **change}}
    assert errors_of(owner, LOG_ACTIVITY, variables, "logActivity") == [expected]
    assert count(runtime, tenant.id, "activities") == 0
    assert count(runtime, tenant.id, "outbox_events") == before


def test_a_wrong_kind_is_refused_by_the_schema(owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime) -> None:
    customer = create_customer(owner)
    result = owner.execute(LOG_ACTIVITY, {"input": {"subjectId": customer, "kind": "FAX", "summary": "x"}})
    assert result.get("errors") and result.get("data") is None
    assert count(runtime, tenant.id, "activities") == 0


def test_another_tenants_customer_is_not_found(
    owner: GraphQLClient, other_owner: GraphQLClient, other_tenant: TenantHandle, runtime: Runtime
) -> None:
    theirs = create_customer(other_owner)
    variables = {"input": {"subjectId": theirs, "kind": "CALL", "summary": "x"}}
    assert errors_of(owner, LOG_ACTIVITY, variables, "logActivity") == [(["input", "subjectId"], "NOT_FOUND")]
    assert count(runtime, other_tenant.id, "activities") == 0


def test_a_rep_logs_on_their_own_and_pool_customers_not_on_a_colleagues(
    owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient
) -> None:
    mine = create_customer(rep, "Mine")
    pool = create_customer(owner, "Pool")
    theirs = create_customer(other_rep, "Theirs")
    log_activity(rep, mine)
    log_activity(rep, pool)
    variables = {"input": {"subjectId": theirs, "kind": "CALL", "summary": "x"}}
    assert errors_of(rep, LOG_ACTIVITY, variables, "logActivity") == [(["input", "subjectId"], "NOT_FOUND")]
    # The colleague's activity is not visible to the rep through node(id) either.
    activity = log_activity(other_rep, theirs)
    assert rep.error_codes(NODE, {"id": activity["id"]}) == ["NOT_FOUND"]


def test_a_viewer_cannot_log(owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime) -> None:
    from tests.conftest import add_member

    viewer = add_member(owner, tenant, "viewer")
    customer = create_customer(owner)
    variables = {"input": {"subjectId": customer, "kind": "CALL", "summary": "x"}}
    assert viewer.error_codes(LOG_ACTIVITY, variables) == ["FORBIDDEN"]
    assert count(runtime, tenant.id, "activities") == 0


def test_every_subject_type_has_its_own_name() -> None:
    from saas.followups.subjects import SUBJECTS

    names = [subject.type_name for subject in SUBJECTS]
    assert len(names) == len(set(names)) and {"Customer", "Contact", "Lead", "Opportunity"} <= set(names)


def test_any_declared_subject_type_takes_follow_ups(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """How the leads and deals domains add Lead and Opportunity: declare the type with its rule."""
    from saas.followups import subjects
    from saas.followups.sources import FollowUpSubject

    product = owner.data(
        'mutation { createProduct(input: {sku: "S-1", name: "Widget", unitPrice: "9.50", currency: "EUR"}) '
        "{ product { id } userErrors { code } } }"
    )["createProduct"]["product"]["id"]
    variables = {"input": {"subjectId": product, "kind": "NOTE", "summary": "Asked about the widget"}}
    assert errors_of(owner, LOG_ACTIVITY, variables, "logActivity") == [(["input", "subjectId"], "NOT_FOUND")]
    declared = FollowUpSubject(
        "Product", "products", None, lambda principal, alias, condition: None, soft_deleted=False
    )
    with monkeypatch.context() as patch:
        patch.setattr(subjects, "SUBJECTS", (*subjects.SUBJECTS, declared))
        activity = log_activity(owner, product, "Asked about the widget")
        assert activity["subjectId"] == product and activity["customer"] is None
        assert owner.data(NODE, {"id": activity["id"]})["node"]["summary"] == "Asked about the widget"
    # Once the type is no subject any more, its activities are not visible either.
    assert owner.error_codes(NODE, {"id": activity["id"]}) == ["NOT_FOUND"]
