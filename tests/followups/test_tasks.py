"""Tasks: createTask, completeTask, myAgenda; bad input, isolation, and reps seeing their own tasks only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from saas.runtime import Runtime
from saas.schema.relay import to_global_id
from tests.conftest import GraphQLClient, TenantHandle
from tests.followups.helpers import (
    AGENDA,
    COMPLETE_TASK,
    CREATE_TASK,
    NODE,
    count,
    create_contact,
    create_customer,
    create_task,
    errors_of,
    events,
    member_id,
    rows,
)


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def test_a_task_is_created_for_the_caller_and_completed(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    customer = create_customer(owner)
    task = create_task(owner, customer, _at(timedelta(days=2)), remindAt=_at(timedelta(days=1)))
    me = member_id(owner)
    assert task["assignee"] == {"id": me}
    assert task["customer"] == {"id": customer}
    assert task["subjectId"] == customer
    assert task["completedAt"] is None
    done = owner.data(COMPLETE_TASK, {"input": {"id": task["id"]}})["completeTask"]
    assert done["userErrors"] == [] and done["task"]["completedAt"] is not None
    again = errors_of(owner, COMPLETE_TASK, {"input": {"id": task["id"]}}, "completeTask")
    assert again == [(["input", "id"], "ALREADY_COMPLETED")]
    [created] = events(runtime, tenant.id, "task.created")
    [completed] = events(runtime, tenant.id, "task.completed")
    assert created["task"]["id"] == completed["task"]["id"] == task["id"]
    assert created["task"]["assignee"] == {"id": me}
    assert completed["task"]["completedAt"] is not None


def test_a_task_on_a_contact_belongs_to_its_customer(owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    contact = create_contact(owner, customer)
    task = create_task(owner, contact, _at(timedelta(hours=3)))
    assert task["subjectId"] == contact and task["customer"] == {"id": customer}
    tasks = owner.data("query($id: ID!) { customer(id: $id) { tasks { id } } }", {"id": customer})
    assert tasks["customer"]["tasks"] == [{"id": task["id"]}]


def test_assigning_another_member_notifies_them(owner: GraphQLClient, rep: GraphQLClient) -> None:
    customer = create_customer(owner)
    task = create_task(owner, customer, _at(timedelta(days=1)), assigneeId=member_id(rep))
    notes = rep.data("{ notifications { edges { node { kind data } } } }")["notifications"]["edges"]
    assert [n["node"]["kind"] for n in notes] == ["task.assigned"]
    assert notes[0]["node"]["data"]["task"]["id"] == task["id"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"title": ""}, (["input", "title"], "REQUIRED")),
        ({"title": "t" * 201}, (["input", "title"], "TOO_LONG")),
        (
            {"remindAt": "2030-01-02T00:00:00+00:00", "dueAt": "2030-01-01T00:00:00+00:00"},
            (["input", "remindAt"], "INVALID"),
        ),
        ({"subjectId": "garbage"}, (["input", "subjectId"], "NOT_FOUND")),
        ({"assigneeId": "garbage"}, (["input", "assigneeId"], "NOT_FOUND")),
        (
            {"assigneeId": to_global_id("Member", "3f1c1c56-7d3e-4c61-9a50-0c5b8d1f2e10")},
            (["input", "assigneeId"], "NOT_FOUND"),
        ),
    ],
)
def test_bad_task_input_is_a_coded_user_error_and_writes_nothing(
    owner: GraphQLClient, tenant: TenantHandle, runtime: Runtime, change: dict, expected: tuple
) -> None:
    customer = create_customer(owner)
    variables = {"input": {"subjectId": customer, "title": "Call back", "dueAt": _at(timedelta(days=1)), **change}}
    assert errors_of(owner, CREATE_TASK, variables, "createTask") == [expected]
    assert count(runtime, tenant.id, "tasks") == 0
    assert count(runtime, tenant.id, "outbox_events", "type LIKE 'task.%'") == 0


def test_complete_task_bad_ids(
    owner: GraphQLClient, other_owner: GraphQLClient, other_tenant: TenantHandle, runtime: Runtime
) -> None:
    theirs = create_task(other_owner, create_customer(other_owner), _at(timedelta(days=1)))
    for bad in ("garbage", to_global_id("Customer", "3f1c1c56-7d3e-4c61-9a50-0c5b8d1f2e10"), theirs["id"]):
        assert errors_of(owner, COMPLETE_TASK, {"input": {"id": bad}}, "completeTask") == [
            (["input", "id"], "NOT_FOUND")
        ]
    assert rows(runtime, other_tenant.id, "SELECT completed_at FROM tasks")[0][0] is None


def test_tasks_of_another_tenant_are_invisible(owner: GraphQLClient, other_owner: GraphQLClient) -> None:
    customer = create_customer(owner)
    task = create_task(owner, customer, _at(timedelta(days=1)))
    assert owner.data(NODE, {"id": task["id"]})["node"]["title"] == "Send the offer"
    assert other_owner.error_codes(NODE, {"id": task["id"]}) == ["NOT_FOUND"]
    assert other_owner.data(AGENDA)["myAgenda"] == {"overdue": [], "today": [], "upcoming": []}
    variables = {"input": {"subjectId": customer, "title": "x", "dueAt": _at(timedelta(days=1))}}
    assert errors_of(other_owner, CREATE_TASK, variables, "createTask") == [(["input", "subjectId"], "NOT_FOUND")]


def test_the_agenda_sorts_the_callers_open_tasks_by_when_they_are_due(owner: GraphQLClient, rep: GraphQLClient) -> None:
    customer = create_customer(rep)
    now = datetime.now(UTC)
    end_of_today = datetime(now.year, now.month, now.day, tzinfo=UTC) + timedelta(days=1)
    late = create_task(rep, customer, (now - timedelta(days=2)).isoformat(), "Late")
    later_today = now + (end_of_today - now) / 2
    today = create_task(rep, customer, later_today.isoformat(), "Today")
    soon = create_task(rep, customer, (end_of_today + timedelta(days=1)).isoformat(), "Soon")
    done = create_task(rep, customer, (now - timedelta(days=1)).isoformat(), "Done")
    rep.data(COMPLETE_TASK, {"input": {"id": done["id"]}})
    create_task(owner, create_customer(owner), (now - timedelta(days=1)).isoformat(), "The owner's own")
    agenda = rep.data(AGENDA)["myAgenda"]
    assert [t["id"] for t in agenda["overdue"]] == [late["id"]]
    assert [t["id"] for t in agenda["today"]] == [today["id"]]
    assert [t["id"] for t in agenda["upcoming"]] == [soon["id"]]


def test_reps_see_their_own_tasks_only(owner: GraphQLClient, rep: GraphQLClient, other_rep: GraphQLClient) -> None:
    pool = create_customer(owner, "Pool customer")  # visible to both reps
    mine = create_task(rep, pool, _at(timedelta(days=1)), "Mine")
    theirs = create_task(other_rep, pool, _at(timedelta(days=1)), "Theirs")
    assert rep.error_codes(NODE, {"id": theirs["id"]}) == ["NOT_FOUND"]
    assert errors_of(rep, COMPLETE_TASK, {"input": {"id": theirs["id"]}}, "completeTask") == [
        (["input", "id"], "NOT_FOUND")
    ]
    tasks = rep.data("query($id: ID!) { customer(id: $id) { tasks { id } } }", {"id": pool})["customer"]["tasks"]
    assert tasks == [{"id": mine["id"]}]
    everyone = owner.data("query($id: ID!) { customer(id: $id) { tasks { id } } }", {"id": pool})["customer"]["tasks"]
    assert {t["id"] for t in everyone} == {mine["id"], theirs["id"]}
    # A rep cannot hand a task to a colleague; an owner can.
    variables = {
        "input": {"subjectId": pool, "title": "x", "dueAt": _at(timedelta(days=1)), "assigneeId": member_id(other_rep)}
    }
    assert errors_of(rep, CREATE_TASK, variables, "createTask") == [(["input", "assigneeId"], "INVALID")]
    assert owner.data(CREATE_TASK, variables)["createTask"]["userErrors"] == []
