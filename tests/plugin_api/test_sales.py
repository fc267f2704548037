"""`create_follow_up_task`: a core task for the customer's owner (or a named member), through the
follow-ups service, also from a job's principal; nothing for a customer it cannot see."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from saas.auth.principal import Principal
from saas.errors import InputInvalid, NotFoundError
from saas.plugin_api import create_follow_up_task
from saas.schema.relay import from_global_id
from saas.tenancy.session import tenant_session
from tests.followups.helpers import count, create_customer, events, member_id

DUE = datetime(2030, 1, 1, 9, 0, tzinfo=UTC)


def _raw(global_id: str) -> uuid.UUID:
    return from_global_id(global_id)[1]


def _job(tenant_id: uuid.UUID) -> Principal:
    return Principal(
        tenant_id=tenant_id, label="job:test", permissions=frozenset({"customers:read", "customers:write"})
    )


def test_a_task_for_the_customers_owner_from_a_job(runtime: Any, tenant: Any, owner: Any, rep: Any) -> None:
    customer = create_customer(rep)  # owned by the rep
    with tenant_session(runtime.engine, tenant.id) as session:
        task_id = create_follow_up_task(
            session,
            _job(tenant.id),
            customer_id=_raw(customer),
            title="Service due",
            due_at=DUE,
            remind_at=DUE - timedelta(days=1),
        )
    query = "query($id: ID!) { customer(id: $id) { tasks { id title assignee { id } } } }"
    tasks = rep.data(query, {"id": customer})["customer"]["tasks"]
    assert [t["title"] for t in tasks] == ["Service due"]
    assert tasks[0]["assignee"]["id"] == member_id(rep)
    assert _raw(tasks[0]["id"]) == task_id
    assert len(events(runtime, tenant.id, "task.created")) == 1


def test_a_named_assignee_and_a_customer_without_owner(
    runtime: Any, tenant: Any, owner: Any, principal_of: Any
) -> None:
    unowned = create_customer(owner, ownerId=None)
    with tenant_session(runtime.engine, tenant.id) as session:
        with pytest.raises(InputInvalid):
            create_follow_up_task(session, _job(tenant.id), customer_id=_raw(unowned), title="Nobody", due_at=DUE)
        me = principal_of(owner).membership_id
        task_id = create_follow_up_task(
            session, _job(tenant.id), customer_id=_raw(unowned), title="Mine", due_at=DUE, assignee_id=me
        )
    assert count(runtime, tenant.id, "tasks", "id = :id", id=task_id) == 1


def test_another_tenants_customer_is_not_found(runtime: Any, tenant: Any, other_tenant: Any, other_owner: Any) -> None:
    foreign = create_customer(other_owner)
    with tenant_session(runtime.engine, tenant.id) as session, pytest.raises(NotFoundError):
        create_follow_up_task(session, _job(tenant.id), customer_id=_raw(foreign), title="X", due_at=DUE)
    assert count(runtime, other_tenant.id, "tasks") == 0
