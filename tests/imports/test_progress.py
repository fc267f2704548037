"""importProgress: the import now, then after each chunk until it finishes; nothing for another tenant."""

from __future__ import annotations

import asyncio
from typing import Any

from saas.plugin_api.testing import collect_events
from tests.imports.support import csv_bytes, run_to_end, start
from tests.live_streams import payloads_until_end

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


def test_a_subscriber_after_the_last_chunk_gets_the_final_state_once(runtime, tenant, owner, monkeypatch) -> None:
    """The import finishes after the subscription listens but before its first read: the final
    state comes once, from the read, and the chunks' messages heard meanwhile send nothing more."""
    from saas.imports.graphql import subscriptions

    job_id = start(owner, csv_bytes([["Name"], ["Acme"], ["Beta"]]))["job"]["id"]
    read = subscriptions._fresh_job

    def finish_then_read(session: Any, principal: Any, raw_id: Any) -> Any:
        run_to_end(runtime, tenant.id, job_id, row_chunk=1)
        return read(session, principal, raw_id)

    monkeypatch.setattr(subscriptions, "_fresh_job", finish_then_read)
    payloads = payloads_until_end(owner, PROGRESS, {"id": job_id})
    assert [p["data"]["importProgress"] for p in payloads] == [
        {"status": "PREVIEWED", "totalRows": 2, "processedRows": 2, "created": 2, "failed": 0}
    ]


def test_chunks_done_between_the_first_read_and_the_stream_are_heard(runtime, tenant, owner, monkeypatch) -> None:
    """The import runs to its end right after the subscriber's first read: the subscriber still
    hears it finish (its messages were kept) and gets the final state once, then the stream ends."""
    from saas.imports.graphql import subscriptions

    job_id = start(owner, csv_bytes([["Name"], ["Acme"], ["Beta"], ["Gamma"]]))["job"]["id"]
    read = subscriptions._fresh_job
    calls: list[Any] = []

    def read_then_finish(session: Any, principal: Any, raw_id: Any) -> Any:
        state = read(session, principal, raw_id)
        if not calls:
            calls.append(state)
            run_to_end(runtime, tenant.id, job_id, row_chunk=1)
        return state

    monkeypatch.setattr(subscriptions, "_fresh_job", read_then_finish)
    states = [p["data"]["importProgress"] for p in payloads_until_end(owner, PROGRESS, {"id": job_id})]
    assert states[0]["status"] == "QUEUED", states
    assert [s for s in states if s["status"] == "PREVIEWED"] == [
        {"status": "PREVIEWED", "totalRows": 3, "processedRows": 3, "created": 3, "failed": 0}
    ]
    assert states[-1]["status"] == "PREVIEWED"
    assert len(states) == len({tuple(s.items()) for s in states})  # no state twice


def test_another_tenant_hears_nothing_of_an_import(runtime, tenant, owner, other_owner) -> None:
    """Another tenant subscribing to the job's id gets NOT_FOUND and nothing else, running or finished."""
    job_id = start(owner, csv_bytes([["Name"], ["Acme"]]))["job"]["id"]
    for _ in ("queued", "finished"):
        payloads = payloads_until_end(other_owner, PROGRESS, {"id": job_id})
        assert [[e["extensions"]["code"] for e in p["errors"]] for p in payloads] == [["NOT_FOUND"]]
        assert not (payloads[0].get("data") or {}).get("importProgress")
        run_to_end(runtime, tenant.id, job_id)
