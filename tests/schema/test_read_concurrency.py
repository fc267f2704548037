"""`DB_READ_CONCURRENCY`: at most that many compiled reads of a process run at once; the others
wait on the event loop and all of them are answered."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from types import SimpleNamespace
from typing import Any

import pytest

import saas.db.reads
from saas.auth.principal import Principal
from saas.schema.context import RequestContext, fetch_compiled


def _context(concurrency: int) -> RequestContext:
    runtime: Any = SimpleNamespace(settings=SimpleNamespace(db_read_concurrency=concurrency), read_engine=None)
    principal = Principal(tenant_id=uuid.uuid4(), label="test", permissions=frozenset())
    return RequestContext(runtime=runtime, principal=principal, request_id="test")


@pytest.mark.parametrize(("concurrency", "most"), [(1, 1), (2, 2), (0, 6)])
def test_compiled_reads_at_once_are_bounded(monkeypatch: pytest.MonkeyPatch, concurrency: int, most: int) -> None:
    running, seen = 0, []
    lock = threading.Lock()

    def fetch_json(_engine: Any, _tenant: uuid.UUID, sql: str, _params: dict[str, Any]) -> str:
        nonlocal running
        with lock:
            running += 1
            seen.append(running)
        time.sleep(0.05)
        with lock:
            running -= 1
        return sql

    monkeypatch.setattr(saas.db.reads, "fetch_json", fetch_json)

    async def requests() -> list[str | None]:
        return list(await asyncio.gather(*(fetch_compiled(_context(concurrency), f"[{i}]", {}) for i in range(6))))

    assert asyncio.run(requests()) == [f"[{i}]" for i in range(6)]
    assert max(seen) == most
