"""The end of a request's session (`RequestContext.release`): a read's open transaction is rolled
back in a worker thread; a session whose write has committed or rolled back holds no connection
and is closed on the loop, without a thread hop."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import text

import saas.schema.context
from saas.auth.permissions import ALL_PERMISSIONS
from saas.auth.principal import Principal
from saas.schema.context import RequestContext


def _context(runtime: Any, tenant_id: Any) -> RequestContext:
    principal = Principal(tenant_id=tenant_id, label="test", permissions=ALL_PERMISSIONS)
    return RequestContext(runtime=runtime, principal=principal, request_id="r1")


def _hops(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """The functions sent to a worker thread from now on (still run there)."""
    sent: list[Any] = []
    original = saas.schema.context.run_in_threadpool

    async def counting(fn: Any, *args: Any, **kwargs: Any) -> Any:
        sent.append(fn)
        return await original(fn, *args, **kwargs)

    monkeypatch.setattr(saas.schema.context, "run_in_threadpool", counting)
    return sent


def _checked_out(runtime: Any) -> int:
    return int(runtime.engine.pool.checkedout())


def test_after_a_write_the_session_is_closed_without_a_thread_hop(
    runtime: Any, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = _context(runtime, tenant.id)

    async def request() -> None:
        await context.write(lambda session, *_: session.execute(text("SELECT 1")).scalar_one())
        sent = _hops(monkeypatch)
        await context.release()
        assert sent == []

    asyncio.run(request())
    assert context._session is None


def test_after_a_failed_write_too(runtime: Any, tenant: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    context = _context(runtime, tenant.id)

    def failing(session: Any, *_: Any) -> None:
        session.execute(text("SELECT 1"))
        raise ValueError("refused")

    async def request() -> None:
        with pytest.raises(ValueError):
            await context.write(failing)
        sent = _hops(monkeypatch)
        await context.release()
        assert sent == []

    asyncio.run(request())
    assert context._session is None


def test_a_reads_open_transaction_is_rolled_back_in_a_worker_thread_and_its_connection_returned(
    runtime: Any, tenant: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    context = _context(runtime, tenant.id)
    before = _checked_out(runtime)

    async def request() -> None:
        tenant_seen = await context.read(
            lambda session: session.execute(text("SELECT current_setting('app.tenant_id')")).scalar_one()
        )
        assert tenant_seen == str(tenant.id)
        assert _checked_out(runtime) == before + 1  # the read's snapshot holds its connection
        sent = _hops(monkeypatch)
        await context.release()
        assert sent == [context.close]

    asyncio.run(request())
    assert context._session is None
    assert _checked_out(runtime) == before


def test_a_context_that_never_opened_a_session_releases_nothing(runtime: Any, tenant: Any) -> None:
    context = _context(runtime, tenant.id)
    asyncio.run(context.release())
    assert context._session is None
