"""tenantExportProgress: the export now, then its progress until it ends, whenever the subscriber
comes; each state once; another tenant gets NOT_FOUND."""

from __future__ import annotations

from typing import Any

import pytest

from saas.plugin_api.testing import GraphQLClient
from saas.runtime import Runtime
from saas.schema.relay import decode_id
from saas.tenancy.session import tenant_session
from saas.tenant_data import exports
from tests.live_streams import payloads_until_end

EXPORT = "mutation { exportTenantData { export { id status } userErrors { field code message } } }"
PROGRESS = "subscription($id: ID!) { tenantExportProgress(id: $id) { id status tablesDone tablesTotal rowsDone } }"


def _request(owner: GraphQLClient) -> str:
    return str(owner.data(EXPORT)["exportTenantData"]["export"]["id"])


def _run(runtime: Runtime, tenant_id: Any, export_id: str) -> None:
    with tenant_session(runtime.engine, tenant_id) as session:
        exports.run_export(session, decode_id(export_id, "TenantExport"), runtime.plugins)
        session.commit()


def _states(payloads: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [p["data"]["tenantExportProgress"] for p in payloads]


@pytest.mark.parametrize("when", ["before the read", "after the read"])
def test_an_export_that_ends_around_the_subscription_is_heard_to_its_end_once(
    runtime: Runtime, owner: GraphQLClient, tenant, monkeypatch, when: str
) -> None:
    """The export runs to its end just before or just after the subscriber's first read: the
    subscriber gets the final state once (from the read, or from the messages kept meanwhile),
    never a state twice, and the stream ends."""
    export_id = _request(owner)
    read = exports.get_export

    def racing_read(session: Any, principal: Any, raw_id: Any) -> Any:
        if when == "before the read":
            _run(runtime, tenant.id, export_id)
        row = read(session, principal, raw_id)
        if when == "after the read":
            _run(runtime, tenant.id, export_id)
        return row

    monkeypatch.setattr(exports, "get_export", racing_read)
    states = _states(payloads_until_end(owner, PROGRESS, {"id": export_id}))
    assert [s["status"] for s in states].count("COMPLETED") == 1
    assert states[-1]["status"] == "COMPLETED" and states[-1]["tablesDone"] == states[-1]["tablesTotal"] > 0
    assert len(states) == len({tuple(s.items()) for s in states})
    if when == "before the read":
        assert len(states) == 1
    else:
        assert states[0]["status"] == "PENDING" and "RUNNING" in [s["status"] for s in states]
        done = [s["tablesDone"] for s in states if s["status"] == "RUNNING"]
        assert done == sorted(done)


def test_another_tenant_cannot_follow_the_export(
    runtime: Runtime, owner: GraphQLClient, other_owner: GraphQLClient, tenant
) -> None:
    export_id = _request(owner)
    for state in ("pending", "completed"):
        payloads = payloads_until_end(other_owner, PROGRESS, {"id": export_id})
        assert [[e["extensions"]["code"] for e in p["errors"]] for p in payloads] == [["NOT_FOUND"]]
        assert not (payloads[0].get("data") or {}).get("tenantExportProgress")
        if state == "pending":
            _run(runtime, tenant.id, export_id)
