"""`saas keys reencrypt --tenant` without `--foreground`: the run is started and its first batch
enqueued; the workers carry it to the end, batch after batch, each sending the next."""

from __future__ import annotations

from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker
from sqlalchemy import text

from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime
from saas.sensitive import keys
from saas.sensitive.envelope import MARKER, key_version
from saas.sensitive.jobs import reencrypt, request_reencrypt
from saas.sensitive.operations import start_or_resume
from saas.tenancy.session import tenant_session
from tests.jobs.conftest import running_worker
from tests.sensitive.helpers import CUSTOMER, customer_with_national_id

RUNS = "{ reencryptRuns { keyVersion status processed batches } }"


def _versions(runtime: Runtime, tenant_id: Any) -> list[int]:
    with tenant_session(runtime.engine, tenant_id) as session:
        documents = [row[0] for row in session.execute(text("SELECT custom_fields FROM customers"))]
    return sorted(key_version(v[MARKER]) for d in documents for v in d.values() if isinstance(v, dict) and MARKER in v)


def test_the_workers_carry_a_run_to_its_end_in_batches(
    job_broker: RedisBroker,
    runtime: Runtime,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: Any,
    other_tenant: Any,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    customers = [customer_with_national_id(owner, f"C{i}", f"ID{i:010d}") for i in range(5)]
    customer_with_national_id(other_owner, "Theirs", "OTHER0000001")
    monkeypatch.setattr(keys, "_batch_size", 2)
    run, resumed = start_or_resume(runtime.engine, tenant.id)  # what the command does, then
    assert run is not None and not resumed
    assert request_reencrypt(tenant.id)  # bound to the broker: the first batch is enqueued
    with running_worker(job_broker):
        job_broker.join(reencrypt.queue, timeout=60_000)
    assert owner.data(RUNS)["reencryptRuns"][0] == {
        "keyVersion": 2,
        "status": "DONE",
        "processed": 5,
        "batches": 3,
    }
    assert _versions(runtime, tenant.id) == [2] * 5
    for i, customer in enumerate(customers):
        assert owner.data(CUSTOMER, {"id": customer["id"]})["customer"]["customFields"] == {"nationalId": f"ID{i:010d}"}
    # The other tenant's values stayed on its own first data key, and it has no run.
    assert _versions(runtime, other_tenant.id) == [1]
    assert other_owner.data(RUNS)["reencryptRuns"] == []
