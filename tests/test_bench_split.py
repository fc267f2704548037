"""bench.run's report of how a load's connections were split between the server's processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

from bench import run as bench_run


def test_connections_per_process_counts_the_established_ones_on_the_servers_port(tmp_path: Path) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    port = listener.getsockname()[1]
    clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    accepted = [listener.accept()[0] for _ in range(3)]
    handed = accepted.pop()  # handed to a child process, which stands in for a second worker
    other = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import socket, sys; s = socket.socket(fileno=int(sys.argv[1])); sys.stdin.read()",
            str(handed.fileno()),
        ],
        stdin=subprocess.PIPE,
        pass_fds=[handed.fileno()],
    )
    handed.close()
    server = bench_run.Server(SimpleNamespace(pid=os.getpid()), port, tmp_path / "log")  # type: ignore[arg-type]
    try:
        deadline = time.monotonic() + 10
        while (split := bench_run.connections_per_process(server)) != [2, 1] and time.monotonic() < deadline:
            time.sleep(0.1)
        # This process holds two accepted connections, its child the third; the client sides
        # (this process's too, on other ports) and the listener are not counted.
        assert split == [2, 1]
    finally:
        other.stdin.close()  # type: ignore[union-attr]
        other.wait(10)
        for sock in (*clients, *accepted, listener):
            sock.close()


def test_the_split_line_names_connections_and_cpu_per_process() -> None:
    line = bench_run.split_line({"connections_per_process": [10, 6], "server_process_cores": [0.41, 0.27]})
    assert line == "connections per server process 10/6; CPU per server process 0.41/0.27 cores"
    assert bench_run.split_line({}) == "connections per server process ?; CPU per server process ? cores"
