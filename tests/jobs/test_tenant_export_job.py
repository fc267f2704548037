"""exportTenantData through the broker: the mutation's commit enqueues the export job, a worker
runs it to COMPLETED; the job run for another tenant finds nothing of it."""

from __future__ import annotations

from typing import Any

import pytest
from dramatiq.brokers.redis import RedisBroker

from saas.errors import NotFoundError
from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from saas.tenant_data.exports import run_export
from saas.tenant_data.jobs import export_tenant_data
from tests.jobs.conftest import running_worker

EXPORT = "mutation { exportTenantData { export { id status } userErrors { code } } }"
STATUS = "query($id: ID!) { tenantExport(id: $id) { status tablesDone tablesTotal rowsDone downloadUrl } }"


def _run_default_queue(broker: RedisBroker) -> None:
    with running_worker(broker):
        broker.join(export_tenant_data.queue, timeout=60_000)


def test_the_mutation_enqueues_the_export_and_a_worker_completes_it(
    job_broker: RedisBroker,
    runtime: Runtime,
    owner: GraphQLClient,
    other_owner: GraphQLClient,
    tenant: Any,
    other_tenant: Any,
) -> None:
    export = owner.data(EXPORT)["exportTenantData"]["export"]
    assert export["status"] == "PENDING"
    # The job's work in another tenant's session finds nothing of this export (row-level security).
    with tenant_session(runtime.engine, other_tenant.id) as session, pytest.raises(NotFoundError):
        run_export(session, decode_id(export["id"], "TenantExport"), runtime.plugins)
    assert owner.data(STATUS, {"id": export["id"]})["tenantExport"]["status"] == "PENDING"
    _run_default_queue(job_broker)
    done = owner.data(STATUS, {"id": export["id"]})["tenantExport"]
    assert done["status"] == "COMPLETED" and done["tablesDone"] == done["tablesTotal"] > 0
    assert done["rowsDone"] > 0 and done["downloadUrl"].startswith("/downloads/")
    assert other_owner.error_codes(STATUS, {"id": export["id"]}) == ["NOT_FOUND"]
