"""Worker processes share keep-alive connections evenly (saas/balanced_accept.py)."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from saas import balanced_accept
from saas.balanced_accept import ConnectionBalance


def test_balance_rejects_bad_sizes():
    with pytest.raises(ValueError, match="at least one slot"):
        ConnectionBalance(0)
    with pytest.raises(ValueError, match="0 or more"):
        ConnectionBalance(2, max_hold=-1)
    with pytest.raises(ValueError, match="0 or more"):
        ConnectionBalance(2, max_hold=float("nan"))


def test_each_worker_sees_the_fewest_connections_of_the_others():
    balance = ConnectionBalance(3)
    me = balance.claim(os.getpid())
    assert me is not None
    assert balance.fewest_elsewhere(me) is None  # alone: never held back
    # Another live worker (this test's parent process stands in for it).
    other = balance.claim(os.getppid())
    assert other is not None and other != me
    balance.publish(me, 5)
    balance.publish(other, 3)
    assert balance.fewest_elsewhere(me) == 3
    assert balance.fewest_elsewhere(other) == 5
    balance.release(other)
    assert balance.fewest_elsewhere(me) is None
    assert balance.snapshot()[other] == (0, 0)


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_a_dead_workers_slot_is_reclaimed_and_forgotten():
    balance = ConnectionBalance(2)
    alive = balance.claim(os.getppid())
    dead = balance.claim(_dead_pid())
    assert (alive, dead) == (0, 1)
    # Every slot is taken; the dead worker's goes to a new worker, the live one's stays.
    assert balance.claim(os.getpid()) == dead
    assert balance.snapshot()[alive] == (os.getppid(), 0)
    # A crashed worker's slot (count 0) is dropped, so that it holds nobody back.
    balance.release(dead)
    balance.claim(_dead_pid())
    assert balance.fewest_elsewhere(alive) == 0
    balance.forget_dead()
    assert balance.snapshot()[dead] == (0, 0)
    assert balance.fewest_elsewhere(alive) is None
    assert balance.snapshot()[alive] == (os.getppid(), 0)


def test_no_slot_left_means_never_held_back():
    balance = ConnectionBalance(1)
    assert balance.claim(os.getppid()) == 0
    assert balance.claim(os.getpid()) is None


def test_a_workers_count_follows_uvicorns_connections_and_the_sockets_being_set_up():
    """What the other workers compare with: open connections (an upgrade keeps its one) + accepted sockets."""
    import uvicorn

    balance = ConnectionBalance(2)
    server = balanced_accept.BalancedServer(uvicorn.Config("tests:app"), balance)
    server.slot = balance.claim(os.getpid())
    other = balance.claim(os.getppid())
    assert server.slot is not None and other is not None
    connections = server.server_state.connections
    http, websocket = object(), object()
    server.accepting(+1)
    assert balance.fewest_elsewhere(other) == 1  # accepted, its protocol not made yet
    connections.add(http)
    server.accepting(-1)
    assert balance.fewest_elsewhere(other) == 1
    connections.discard(http)  # a WebSocket upgrade: the HTTP protocol leaves, the WebSocket one comes
    connections.add(websocket)
    assert balance.fewest_elsewhere(other) == 1
    balance.publish(other, 1)
    assert not server.should_hold_back()  # as many as the other: accepts
    balance.publish(other, 0)
    assert server.should_hold_back()  # more than the other: leaves the next connection to it
    connections.remove(websocket)
    assert balance.fewest_elsewhere(other) == 0
    assert not server.should_hold_back()


class _HeldBack:
    """A server whose worker always has more connections than another one."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.changes: list[int] = []
        self.forgot = 0

    def should_hold_back(self) -> bool:
        return True

    def accepting(self, change: int) -> None:
        self.changes.append(change)

    def forget_dead(self) -> None:
        self.forgot += 1

    def max_hold(self) -> float:
        return self.hold


class _Echo(asyncio.Protocol):
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _round_trip(port: int) -> tuple[bytes, float]:
    started = time.monotonic()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"ping")
    answer = await asyncio.wait_for(reader.readexactly(4), 10)
    writer.close()
    return answer, time.monotonic() - started


def test_a_held_back_worker_accepts_once_nobody_else_has():
    """The other worker hung or gone: the connection is served after the hold, never refused."""

    async def scenario() -> tuple[bytes, float, _HeldBack]:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        server = _HeldBack(hold=0.3)
        acceptor = balanced_accept._Acceptor(server, listener, _Echo)  # type: ignore[arg-type]
        try:
            answer, seconds = await _round_trip(listener.getsockname()[1])
        finally:
            acceptor.close()
            await acceptor.wait_closed()
            listener.close()
        return answer, seconds, server

    answer, seconds, server = asyncio.run(scenario())
    assert answer == b"ping"
    assert seconds >= 0.3  # it waited for the other worker first
    assert server.forgot == 1  # and looked for dead workers before accepting itself
    assert server.changes == [1, -1]  # counted while its protocol was being made


def test_a_closed_acceptor_accepts_nothing():
    async def scenario() -> bool:
        listener = socket.socket()
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        server = _HeldBack(hold=0.0)
        acceptor = balanced_accept._Acceptor(server, listener, _Echo)  # type: ignore[arg-type]
        acceptor.close()
        try:
            await asyncio.wait_for(_round_trip(listener.getsockname()[1]), 0.5)
        except TimeoutError:
            return False
        finally:
            listener.close()
        return True

    assert asyncio.run(scenario()) is False


SERVER = textwrap.dedent(
    """
    import os, sys
    import uvicorn
    from saas import balanced_accept

    async def app(scope, receive, send):
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"%d" % len(str(os.getpid())))]})
        await send({"type": "http.response.body", "body": str(os.getpid()).encode()})

    if __name__ == "__main__":
        balanced = sys.argv[2] == "balanced"
        assert balanced_accept.supported()
        if balanced:
            with balanced_accept.balanced_workers(2, max_hold=10.0):
                uvicorn.run("server_app:app", port=int(sys.argv[1]), workers=2, log_level="warning", timeout_worker_healthcheck=60)
        else:
            uvicorn.run("server_app:app", port=int(sys.argv[1]), workers=2, log_level="warning", timeout_worker_healthcheck=60)
    """
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(sock: socket.socket) -> str:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: test\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(4096)
    head, _, body = data.partition(b"\r\n\r\n")
    length = int(
        next(line for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")).split(b":")[1]
    )
    while len(body) < length:
        body += sock.recv(4096)
    return body.decode()


def _split(tmp_path: Path, mode: str, connections: int) -> dict[str, list[str]]:
    """Open `connections` keep-alive connections one after another; which worker answers each, twice."""
    (tmp_path / "server_app.py").write_text(SERVER)
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), str(Path(__file__).resolve().parents[2])])}
    server = subprocess.Popen([sys.executable, str(tmp_path / "server_app.py"), str(port), mode], env=env, cwd=tmp_path)
    sockets: list[socket.socket] = []
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                probe = socket.create_connection(("127.0.0.1", port), timeout=10)
                _get(probe)
                probe.close()
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    raise
                time.sleep(0.2)
        time.sleep(0.5)  # the probe's connection closed in its worker
        answers: dict[str, list[str]] = {}
        for _ in range(connections):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sockets.append(sock)
            first = _get(sock)
            answers.setdefault(first, []).append(_get(sock))  # keep-alive: the same worker again
        return answers
    finally:
        for sock in sockets:
            sock.close()
        server.terminate()
        server.wait(30)


def test_keep_alive_connections_are_split_evenly_between_workers(tmp_path):
    answers = _split(tmp_path, "balanced", 16)
    assert sorted(len(seconds) for seconds in answers.values()) == [8, 8]
    # Each connection stays with the worker that accepted it.
    assert all(set(seconds) == {pid} for pid, seconds in answers.items())
