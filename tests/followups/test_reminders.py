"""Task reminders: due and overdue, each sent once per task and kind, also with two workers at once."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

from saas.followups import jobs
from saas.followups.reminders import send_task_reminders
from saas.jobs.broker import CORE_JOB_MODULES
from saas.jobs.periodic import PERIODIC
from saas.jobs.runner import JobRunner
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.followups.helpers import COMPLETE_TASK, count, create_customer, create_task, events, rows

NOTIFICATIONS = "{ notifications(first: 50) { edges { node { kind title data } } } }"


def _at(delta: timedelta) -> str:
    return (datetime.now(UTC) + delta).isoformat()


def _reminders(client: GraphQLClient) -> list[tuple[str, str]]:
    edges = client.data(NOTIFICATIONS)["notifications"]["edges"]
    return sorted((e["node"]["kind"], e["node"]["data"]["task"]["title"]) for e in edges)


def _make_tasks(client: GraphQLClient) -> None:
    customer = create_customer(client)
    create_task(client, customer, _at(-timedelta(hours=2)), "Overdue")  # due and overdue
    create_task(client, customer, _at(timedelta(hours=5)), "Reminded", remindAt=_at(-timedelta(minutes=1)))
    create_task(client, customer, _at(timedelta(days=3)), "Later", remindAt=_at(timedelta(days=2)))
    done = create_task(client, customer, _at(-timedelta(days=1)), "Done")
    client.data(COMPLETE_TASK, {"input": {"id": done["id"]}})


def test_due_and_overdue_reminders_are_sent_once(rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime) -> None:
    _make_tasks(rep)
    for _ in range(2):
        with tenant_session(runtime.engine, tenant.id) as session:
            send_task_reminders(session)
    assert _reminders(rep) == [("task.due", "Overdue"), ("task.due", "Reminded"), ("task.overdue", "Overdue")]
    [overdue] = events(runtime, tenant.id, "task.overdue")
    assert overdue["task"]["title"] == "Overdue" and overdue["reminder"] == "OVERDUE"
    assert sorted(e["task"]["title"] for e in events(runtime, tenant.id, "task.due")) == ["Overdue", "Reminded"]
    assert count(runtime, tenant.id, "task_reminders") == 3


def test_two_workers_at_once_send_each_reminder_once(
    rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    """Two deliveries of the job (distinct messages, so the runner's own record does not dedupe
    them) run together, several rounds; the reminder rows decide who sends."""
    runner = JobRunner(runtime.engine, None, {})
    for round_ in range(3):
        customer = create_customer(rep, f"Round {round_}")
        for index in range(5):
            create_task(rep, customer, _at(-timedelta(hours=3)), f"R{round_}.{index}")
        start = threading.Barrier(2)

        def worker(start: threading.Barrier) -> None:
            start.wait(timeout=10)
            runner.run(jobs.task_reminders, str(tenant.id), (), {})

        threads = [threading.Thread(target=worker, args=(start,)) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=30)
    sent = _reminders(rep)
    assert len(sent) == len(set(sent)) == 3 * 5 * 2
    assert count(runtime, tenant.id, "outbox_events", "type IN ('task.due', 'task.overdue')") == 30


def test_a_second_worker_waits_for_the_first_and_sends_nothing(
    rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    create_task(rep, create_customer(rep), _at(-timedelta(hours=2)), "Contested")
    runner = JobRunner(runtime.engine, None, {})
    with tenant_session(runtime.engine, tenant.id) as session:
        assert len(send_task_reminders(session)) == 2
        second = threading.Thread(target=runner.run, args=(jobs.task_reminders, str(tenant.id), (), {}))
        second.start()
        time.sleep(0.5)
        assert second.is_alive()  # waiting on the first worker's uncommitted reminder rows
    second.join(timeout=10)
    assert _reminders(rep) == [("task.due", "Contested"), ("task.overdue", "Contested")]


def test_if_the_first_worker_rolls_back_the_second_sends(
    rep: GraphQLClient, tenant: TenantHandle, runtime: Runtime
) -> None:
    create_task(rep, create_customer(rep), _at(-timedelta(hours=2)), "Retried")
    try:
        with tenant_session(runtime.engine, tenant.id) as session:
            send_task_reminders(session)
            raise RuntimeError("worker died")
    except RuntimeError:
        pass
    assert _reminders(rep) == []
    with tenant_session(runtime.engine, tenant.id) as session:
        send_task_reminders(session)
    assert _reminders(rep) == [("task.due", "Retried"), ("task.overdue", "Retried")]


def test_reminders_stay_in_their_tenant(
    rep: GraphQLClient, other_owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle, runtime: Runtime
) -> None:
    create_task(other_owner, create_customer(other_owner), _at(-timedelta(hours=2)), "Theirs")
    with tenant_session(runtime.engine, tenant.id) as session:
        assert send_task_reminders(session) == []
    assert rows(runtime, other_tenant.id, "SELECT count(*) FROM task_reminders")[0][0] == 0
    assert _reminders(other_owner) == []


def test_the_jobs_are_periodic_core_jobs() -> None:
    assert "saas.followups.jobs" in CORE_JOB_MODULES
    assert PERIODIC["saas.followups.send_task_reminders"].job is jobs.task_reminders
    assert PERIODIC["saas.followups.return_idle_customers"].job is jobs.public_pool
