"""A job runs in a session bound to its message's tenant, acts once per message, and respects plugins."""

from __future__ import annotations

import json
import secrets
import uuid
from collections.abc import Callable

from dramatiq.brokers.redis import RedisBroker

from saas.jobs.deadletters import tenant_index_key
from saas.runtime import Runtime
from tests.conftest import TenantHandle
from tests.jobs import sample_jobs, sample_plugin
from tests.jobs.helpers import add_customer, customers_named, processed, switch_plugin


def test_a_job_sees_only_its_tenants_rows(
    runtime: Runtime,
    job_broker: RedisBroker,
    run_jobs: Callable[..., None],
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    job_namespace: str,
) -> None:
    add_customer(runtime, tenant.id, "Mine Ltd")
    theirs = add_customer(runtime, other_tenant.id, "Theirs Ltd")
    key = f"{job_namespace}:report:{secrets.token_hex(4)}"

    sample_jobs.inspect.send(tenant.id, key, str(other_tenant.id), str(theirs))
    run_jobs()

    report = json.loads(sample_jobs.reports().get(key) or b"null")
    assert report == {"tenant": str(tenant.id), "visible": ["Mine Ltd"], "other_by_sql": 0, "other_by_key": False}


def test_the_same_message_delivered_twice_acts_once(
    runtime: Runtime, job_broker: RedisBroker, run_jobs: Callable[..., None], tenant: TenantHandle
) -> None:
    message = sample_jobs.record_customer.actor.message(str(tenant.id), "Twice Ltd")
    job_broker.enqueue(message)
    job_broker.enqueue(message)
    run_jobs()

    assert customers_named(runtime, tenant.id, "Twice Ltd") == 1
    assert processed(runtime, tenant.id, message.message_id) == 1


def test_distinct_messages_each_act(
    runtime: Runtime, job_broker: RedisBroker, run_jobs: Callable[..., None], tenant: TenantHandle
) -> None:
    sample_jobs.record_customer.send(tenant.id, "Each Ltd")
    sample_jobs.record_customer.send(tenant.id, "Each Ltd")
    run_jobs()

    assert customers_named(runtime, tenant.id, "Each Ltd") == 2


def test_a_plugin_job_does_nothing_for_a_tenant_without_the_plugin(
    runtime: Runtime,
    job_broker: RedisBroker,
    run_jobs: Callable[..., None],
    tenant: TenantHandle,
    other_tenant: TenantHandle,
    make_tenant: Callable[[], TenantHandle],
) -> None:
    never_enabled = make_tenant()
    switch_plugin(runtime, tenant.id, sample_plugin.NAME, enabled=True)
    switch_plugin(runtime, other_tenant.id, sample_plugin.NAME, enabled=True)
    switch_plugin(runtime, other_tenant.id, sample_plugin.NAME, enabled=False)

    sent = [sample_plugin.plugin_record.send(t.id, "Plugin Ltd") for t in (tenant, other_tenant, never_enabled)]
    run_jobs()

    assert customers_named(runtime, tenant.id, "Plugin Ltd") == 1
    assert customers_named(runtime, other_tenant.id, "Plugin Ltd") == 0
    assert customers_named(runtime, never_enabled.id, "Plugin Ltd") == 0
    # A skipped message had no effect, so it leaves no record either.
    handles = (tenant, other_tenant, never_enabled)
    records = [processed(runtime, t.id, m.message_id) for t, m in zip(handles, sent, strict=True)]
    assert records == [1, 0, 0]


def test_a_message_for_a_missing_tenant_is_dropped(
    runtime: Runtime, job_broker: RedisBroker, run_jobs: Callable[..., None], job_namespace: str
) -> None:
    missing = uuid.uuid4()
    sample_jobs.record_customer.send(missing, "Ghost Ltd")
    run_jobs()

    assert job_broker.client.zcard(tenant_index_key(job_namespace, missing)) == 0
