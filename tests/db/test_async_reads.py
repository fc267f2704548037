"""The compiled reads' pool of asynchronous connections (`saas/db/async_reads.py`): bounded, first
come first served across event loops, and never handing out a connection in an unknown state."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import psycopg2
import pytest

from saas.config import Settings
from saas.db.async_reads import AsyncReadPool
from saas.db.engine import create_read_pool

SLEEPY = "SELECT %(i)s::text FROM pg_sleep(0.05)"


@pytest.fixture
def make_pool(settings: Settings, migrated: str) -> Iterator[Any]:
    pools: list[AsyncReadPool] = []

    def make(concurrency: int) -> AsyncReadPool:
        pool = create_read_pool(settings.model_copy(update={"db_read_concurrency": concurrency}), migrated)
        pools.append(pool)
        return pool

    yield make
    for pool in pools:
        pool.close()


async def _read(pool: AsyncReadPool, sql: str, values: dict[str, Any]) -> Any:
    conn = await pool.acquire()
    try:
        return await conn.fetch_one(sql, values)
    finally:
        pool.release(conn)


@pytest.mark.parametrize(("concurrency", "most"), [(1, 1), (2, 2), (0, 6)])
def test_reads_at_once_are_bounded_and_all_answered(make_pool: Any, concurrency: int, most: int) -> None:
    pool = make_pool(concurrency)  # 0: DB_POOL_SIZE (20), more than the six reads

    async def reads() -> list[Any]:
        return list(await asyncio.gather(*(_read(pool, SLEEPY, {"i": i}) for i in range(6))))

    assert asyncio.run(reads()) == [(str(i),) for i in range(6)]
    assert pool.most_held == most


def test_the_application_role_reads_with_the_tenant_setting_of_its_message(make_pool: Any, settings: Settings) -> None:
    pool = make_pool(1)
    row = asyncio.run(
        _read(
            pool,
            "SELECT set_config('app.tenant_id', %(t)s, true); "
            "SELECT current_user || ' ' || current_setting('app.tenant_id') || ' ' || "
            "(SELECT rolbypassrls FROM pg_roles WHERE rolname = current_user)::text",
            {"t": "tenant-x"},
        )
    )
    assert row == (f"{settings.app_role} tenant-x false",)
    # The setting was local to that message's implicit transaction: the next read does not see it.
    assert asyncio.run(_read(pool, "SELECT current_setting('app.tenant_id', true)", {})) in ((None,), ("",))


def test_event_loops_of_several_threads_share_the_bound(make_pool: Any) -> None:
    pool = make_pool(2)
    answers: list[list[Any]] = []
    failures: list[BaseException] = []

    def thread() -> None:
        async def reads() -> list[Any]:
            return list(await asyncio.gather(*(_read(pool, SLEEPY, {"i": i}) for i in range(4))))

        try:
            answers.append(asyncio.run(asyncio.wait_for(reads(), 30)))
        except BaseException as error:
            failures.append(error)

    threads = [threading.Thread(target=thread) for _ in range(3)]
    for started in threads:
        started.start()
    for started in threads:
        started.join()
    assert not failures
    assert answers == [[(str(i),) for i in range(4)]] * 3
    assert pool.most_held == 2


def test_a_read_cancelled_while_it_runs_closes_its_connection(make_pool: Any) -> None:
    pool = make_pool(1)

    async def scenario() -> Any:
        first = await pool.acquire()
        backend = (await first.fetch_one("SELECT pg_backend_pid()", {}))[0]
        pool.release(first)
        task = asyncio.create_task(_read(pool, "SELECT pg_sleep(5)", {}))
        await asyncio.sleep(0.2)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        # The only connection was closed, not handed out mid-statement: the next read gets a
        # new backend and a clean answer.
        return backend, await _read(pool, "SELECT pg_backend_pid(), 'clean'", {})

    backend, (new_backend, answer) = asyncio.run(scenario())
    assert answer == "clean"
    assert new_backend != backend


def test_a_waiter_that_gives_up_leaves_its_turn_to_the_next(make_pool: Any) -> None:
    pool = make_pool(1)

    async def scenario() -> list[Any]:
        reads = [asyncio.create_task(_read(pool, SLEEPY, {"i": i})) for i in range(4)]
        await asyncio.sleep(0.01)
        reads[1].cancel()  # waiting for the one connection
        return list(await asyncio.gather(*reads, return_exceptions=True))

    results = asyncio.run(scenario())
    assert results[0] == ("0",) and results[2] == ("2",) and results[3] == ("3",)
    assert isinstance(results[1], asyncio.CancelledError)
    assert asyncio.run(_read(pool, "SELECT 'after'", {})) == ("after",)  # no turn was lost


def test_an_error_of_the_statement_keeps_the_connection(make_pool: Any) -> None:
    pool = make_pool(1)

    async def scenario() -> Any:
        backend = (await _read(pool, "SELECT pg_backend_pid()", {}))[0]
        with pytest.raises(psycopg2.errors.DivisionByZero):
            await _read(pool, "SELECT 1 / %(zero)s", {"zero": 0})
        return backend, (await _read(pool, "SELECT pg_backend_pid()", {}))[0]

    before, after = asyncio.run(scenario())
    assert before == after


def test_a_closed_pool_refuses_reads(make_pool: Any) -> None:
    pool = make_pool(1)
    assert asyncio.run(_read(pool, "SELECT 1", {})) == (1,)
    pool.close()
    with pytest.raises(psycopg2.InterfaceError):
        asyncio.run(_read(pool, "SELECT 1", {}))
