"""Direct sends of shared subscription results (`saas.http.websocket._run_eagerly`): a send that
completes at once runs in the caller's step; one that waits (a full socket buffer) is carried on
by a task, from where it waited, and gets what that task gets (its result, its cancellation)."""

from __future__ import annotations

import asyncio

from saas.http.websocket import _run_eagerly


def test_a_send_runs_at_once_or_is_carried_on_from_where_it_waited() -> None:
    async def main() -> None:
        writable = asyncio.Event()
        writable.set()
        sent: list[int] = []
        ended: list[str] = []

        async def send(n: int) -> None:
            try:
                await writable.wait()
                sent.append(n)
            except asyncio.CancelledError:
                ended.append(f"cancelled {n}")
                raise

        assert _run_eagerly(send(1)) is None
        assert sent == [1]  # no task, no loop turn

        writable.clear()
        assert _run_eagerly(send(2)) is not None
        assert sent == [1]
        writable.set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert sent == [1, 2]

        writable.clear()
        task = _run_eagerly(send(3))
        assert task is not None
        await asyncio.sleep(0)  # the task waits where the send waited
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        assert sent == [1, 2] and ended == ["cancelled 3"]

        async def fails() -> None:
            raise OSError("gone")

        assert _run_eagerly(fails()) is None  # the send's own error handling has run; nothing escapes

        closed: list[int] = []

        async def send_then_close(n: int) -> None:
            try:
                await writable.wait()
                sent.append(n)
            finally:
                closed.append(n)

        task = _run_eagerly(send_then_close(4))
        assert task is not None
        task.cancel()  # before the task's first step: the send is closed all the same
        await asyncio.gather(task, return_exceptions=True)
        assert sent == [1, 2] and closed == [4]

    asyncio.run(main())
