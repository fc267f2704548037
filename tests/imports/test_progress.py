"""importProgress: the import now, then after each chunk until it finishes; nothing for another tenant."""

from __future__ import annotations

import asyncio
from typing import Any

from saas.plugin_api.testing import collect_events
from tests.imports.support import csv_bytes, run_to_end, start

PROGRESS = """subscription($id: ID!) {
  importProgress(jobId: $id) { status totalRows processedRows created failed }
}"""


def test_progress_after_each_chunk(runtime, tenant, owner) -> None:
    rows = [["Name"]] + [[f"Company {i}"] for i in range(5)]
    job_id = start(owner, csv_bytes(rows))["job"]["id"]
    payloads: list[dict[str, Any]] = collect_events(
        owner, PROGRESS, {"id": job_id}, "imports", lambda: run_to_end(runtime, tenant.id, job_id, row_chunk=2)
    )
    states = [p["data"]["importProgress"] for p in payloads]
    assert states[0]["status"] == "QUEUED"
    assert [s["processedRows"] for s in states if s["status"] == "PREVIEWING"] == [0, 2, 4, 5]
    assert states[-1] == {"status": "PREVIEWED", "totalRows": 5, "processedRows": 5, "created": 5, "failed": 0}


def _first_payload(client: Any, variables: dict[str, Any]) -> dict[str, Any]:
    engine = client.engine

    async def main() -> dict[str, Any]:
        principal = await asyncio.to_thread(engine.runtime.authenticate, f"Bearer {client.token}")
        stream = await engine.subscribe(engine.prepare(PROGRESS, None, principal), variables, principal, "sub")
        if isinstance(stream, dict):
            return stream
        try:
            return await anext(stream)  # type: ignore[no-any-return]
        finally:
            await stream.aclose()

    return asyncio.run(main())


def test_another_tenant_cannot_follow_an_import(runtime, tenant, owner, other_owner) -> None:
    job_id = start(owner, csv_bytes([["Name"], ["Acme"]]))["job"]["id"]
    refused = _first_payload(other_owner, {"id": job_id})
    assert [e["extensions"]["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    finished = start(owner, csv_bytes([["Name"], ["Beta"]]))["job"]["id"]
    run_to_end(runtime, tenant.id, finished)
    # A finished import answers once, with its final state, and the subscription ends.
    assert _first_payload(owner, {"id": finished})["data"]["importProgress"]["status"] == "PREVIEWED"
