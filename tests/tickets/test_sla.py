"""SLA policies, due times, and the breach job with a controllable clock: each breach flagged once."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import text

from saas.jobs.broker import CORE_JOB_MODULES
from saas.jobs.periodic import PERIODIC
from saas.jobs.runner import JobRunner
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from saas.tickets import jobs
from saas.tickets.sla import flag_breaches
from tests.conftest import GraphQLClient, add_member
from tests.tickets.support import (
    COMMENT,
    SET_SLA,
    SLAS,
    STATUS,
    count,
    create_customer,
    create_ticket,
    errors,
    events,
    listed,
    notification_kinds,
    ok,
)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _policy(owner: GraphQLClient, **fields: Any) -> dict[str, Any]:
    fields = {"type": "inquiry", "priority": "NORMAL", "firstResponseMinutes": 60, "resolutionMinutes": 480, **fields}
    return ok(owner, SET_SLA, fields, "setSlaPolicy")["slaPolicy"]


def _flag(runtime: Runtime, tenant_id: Any, at: datetime) -> list[Any]:
    with tenant_session(runtime.engine, tenant_id) as session:
        flagged = flag_breaches(session, tenant_id, at)
        session.commit()
        return flagged


def test_due_times_come_from_the_policy_of_type_and_priority(owner: GraphQLClient) -> None:
    assert _policy(owner) == {
        "type": "inquiry",
        "priority": "NORMAL",
        "firstResponseMinutes": 60,
        "resolutionMinutes": 480,
    }
    _policy(owner, firstResponseMinutes=30)  # replaces it
    assert owner.data(SLAS)["slaPolicies"] == [
        {"type": "inquiry", "priority": "NORMAL", "firstResponseMinutes": 30, "resolutionMinutes": 480}
    ]
    ticket = create_ticket(owner, create_customer(owner))
    assert _at(ticket["firstResponseDueAt"]) + timedelta(minutes=450) == _at(ticket["resolutionDueAt"])


def test_bad_policies_are_refused(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    base = {"type": "inquiry", "priority": "NORMAL", "firstResponseMinutes": 60, "resolutionMinutes": 480}
    for change, expected in (
        ({"type": "nope"}, (["input", "type"], "NOT_FOUND")),
        ({"type": ""}, (["input", "type"], "REQUIRED")),
        ({"firstResponseMinutes": 0}, (["input", "firstResponseMinutes"], "OUT_OF_RANGE")),
        ({"resolutionMinutes": 10**9}, (["input", "resolutionMinutes"], "OUT_OF_RANGE")),
        ({"firstResponseMinutes": 500}, (["input", "firstResponseMinutes"], "INVALID")),
    ):
        assert errors(owner, SET_SLA, {**base, **change}, "setSlaPolicy") == [expected], change
    assert count(runtime, tenant.id, "sla_policies") == 0
    agent = add_member(owner, tenant, "service")
    assert agent.error_codes(SET_SLA, {"input": base}) == ["FORBIDDEN"]


def test_the_job_flags_each_breach_once_and_tells_the_managers(
    owner: GraphQLClient, tenant: Any, runtime: Runtime
) -> None:
    _policy(owner)
    customer = create_customer(owner)
    late = create_ticket(owner, customer, subject="Late")
    answered = create_ticket(owner, customer, subject="Answered")
    ok(owner, COMMENT, {"id": answered["id"], "body": "On it", "public": True}, "commentOnTicket")
    created = _at(late["firstResponseDueAt"]) - timedelta(minutes=60)
    assert _flag(runtime, tenant.id, created + timedelta(minutes=59)) == []
    flagged = _flag(runtime, tenant.id, created + timedelta(minutes=61))
    assert len(flagged) == 1
    assert listed(owner, {"breached": True}) == [late["id"]]
    assert _flag(runtime, tenant.id, created + timedelta(minutes=62)) == []  # once
    # The answered one breaches its resolution time later, once.
    assert len(_flag(runtime, tenant.id, created + timedelta(minutes=481))) == 1
    assert set(listed(owner, {"breached": True})) == {late["id"], answered["id"]}
    assert _flag(runtime, tenant.id, created + timedelta(days=3)) == []
    assert [kind for kind, _ in events(runtime, tenant.id, "ticket.sla_breached")] == ["ticket.sla_breached"] * 2
    assert notification_kinds(owner).count("ticket.sla_breached") == 2


def test_resolved_tickets_do_not_breach(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    _policy(owner)
    ticket = create_ticket(owner, create_customer(owner))
    ok(owner, STATUS, {"id": ticket["id"], "status": "RESOLVED"}, "updateTicketStatus")
    assert _flag(runtime, tenant.id, datetime.now(UTC) + timedelta(days=30)) == []


def test_two_jobs_at_once_flag_each_breach_once(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    _policy(owner)
    customer = create_customer(owner)
    for i in range(5):
        create_ticket(owner, customer, subject=f"T{i}")
    later = datetime.now(UTC) + timedelta(days=1)
    results: list[list[Any]] = []
    barrier = threading.Barrier(2)

    def run() -> None:
        barrier.wait()
        results.append(_flag(runtime, tenant.id, later))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(len(r) for r in results) == [0, 5] or sum(len(r) for r in results) == 5
    assert len(events(runtime, tenant.id, "ticket.sla_breached")) == 5


def test_the_job_keeps_to_its_tenant(
    owner: GraphQLClient, other_owner: GraphQLClient, tenant: Any, other_tenant: Any, runtime: Runtime
) -> None:
    _policy(owner)
    create_ticket(owner, create_customer(owner))
    assert _flag(runtime, other_tenant.id, datetime.now(UTC) + timedelta(days=1)) == []
    assert other_owner.data(SLAS)["slaPolicies"] == []
    assert count(runtime, tenant.id, "tickets", "breached_at IS NULL") == 1


def test_the_periodic_job_flags_an_overdue_ticket_once(owner: GraphQLClient, tenant: Any, runtime: Runtime) -> None:
    """The job the workers run every minute: through the job runner, as a worker runs it."""
    assert "saas.tickets.jobs" in CORE_JOB_MODULES
    assert PERIODIC["saas.tickets.flag_sla_breaches"].job is jobs.sla_breaches
    _policy(owner)
    customer = create_customer(owner)
    late, on_time = create_ticket(owner, customer, subject="Late"), create_ticket(owner, customer, subject="On time")
    with tenant_session(runtime.engine, tenant.id) as session:
        session.execute(text("UPDATE tickets SET first_response_due_at = now() - interval '1 minute' WHERE number = 1"))
        session.commit()
    runner = JobRunner(runtime.engine, None, {})
    for _ in range(2):
        runner.run(jobs.sla_breaches, str(tenant.id), (), {})
    assert listed(owner, {"breached": True}) == [late["id"]]
    assert on_time["id"] in listed(owner, {"breached": False})
    assert len(events(runtime, tenant.id, "ticket.sla_breached")) == 1
    assert notification_kinds(owner).count("ticket.sla_breached") == 1
