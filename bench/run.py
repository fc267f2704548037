"""The HTTP benchmark of the customers list: `saas serve` under a load generator in another process.

    python -m bench.run [--workers 2] [--connections 16] [--duration 20] [--warmup 3]
                        [--database saas_bench] [--loadgen auto|wrk|python] [--json FILE]
                        [--scenarios customers,customer360,pipeline]

`--scenarios` picks what is measured: `customers` (the default, below), and the sales scenarios
`customer360` and `pipeline` (`bench/sales.py`): each checked and its statements counted
in-process, then the same warm-up and measured load against the same server. On their own:
`targets` (`bench/targets.py`, every read target beside PostGraphile and pgbench) and `writes`
(`bench/writes.py`, `createCustomer` and `moveOpportunity` beside PostGraphile's mutations).

Steps: seed the benchmark database if needed (`bench.seed`); measure SQL statements per
request in-process for page sizes 10, 50 and 100, and walk 50,000 customers deep with
`after` cursors; start `saas serve` (DATABASE_URL = the benchmark database, REDIS_URL,
LOG_LEVEL=WARNING) and wait for /readyz; log in as the owner of `bench-big` over HTTP;
run the load generator (wrk with a Lua script, else `bench.loadgen`) for a warm-up and
then the measured duration at the given concurrency; time page 1 against the deep page
one request at a time; sample the server's memory (RSS of its process tree) and the CPU
used by the server, PostgreSQL's backends of the benchmark database, the load generator
and everything else throughout; stop the server and print the report.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # `python bench/run.py`: import `bench` as a package, not from inside it
    _here = Path(__file__).resolve().parent
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _here]
    sys.path.insert(0, str(_here.parent))

import orjson
import psutil

from bench.common import (
    BIG_SLUG,
    CODE_ENV,
    CUSTOMERS_PAGE,
    DEFAULT_DATABASE,
    LOGIN,
    PASSWORD,
    InProcess,
    bench_url,
    deep_cursor,
    owner_email,
    percentile,
    redis_url,
    run_at_commit,
)

PAGE_SIZES = (10, 50, 100)
SCENARIOS = ("customers", "customer360", "pipeline", "targets", "writes")
SALES_SCENARIOS = {"customer360": "customer 360", "pipeline": "pipelineReport"}

# The same page for PostGraphile: same fields, order (name, id), live customers and contacts.
POSTGRAPHILE_PAGE = """query CustomersPage($first: Int!, $after: Cursor) {
  allCustomers(first: $first, after: $after, orderBy: [NAME_ASC, ID_ASC], condition: {deletedAt: null}) {
    edges {
      cursor
      node {
        id: nodeId
        name
        kind
        industry
        tier
        lifecycleStage
        source
        tags
        lastContactedAt
        nextFollowUpAt
        version
        createdAt
        updatedAt
        contacts: contactsByTenantIdAndCustomerIdList(orderBy: [IS_PRIMARY_DESC, NAME_ASC, ID_ASC], condition: {deletedAt: null}) {
          id: nodeId name email phone isPrimary
        }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

WRK_SCRIPT = r"""
wrk.method = "POST"
wrk.body = [==[%(body)s]==]
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer %(token)s"

local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  checked = 0
end

-- Every response is checked: HTTP 200 and a body that starts with data (errors come first).
function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 or string.sub(body, 1, 7) ~= '{"data"' then
    bad = bad + 1
  end
end

function done(summary, latency, requests)
  local bad_total, checked_total = 0, 0
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    checked_total = checked_total + t:get("checked")
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %%d, "duration_us": %%d, "bytes": %%d, "errors_connect": %%d, "errors_read": %%d, ' ..
    '"errors_write": %%d, "errors_status": %%d, "errors_timeout": %%d, "bad_responses": %%d, "checked": %%d, ' ..
    '"latency_us": {"min": %%d, "mean": %%.1f, "max": %%d, "stdev": %%.1f, "p50": %%d, "p75": %%d, "p90": %%d, "p99": %%d, "p999": %%d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    bad_total, checked_total, latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
end
"""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


# --- the server -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def saas_command() -> list[str]:
    script = Path(sys.executable).parent / "saas"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "import sys; from saas.cli import main; sys.exit(main())"]


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    port: int
    log_path: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def tree(self) -> list[psutil.Process]:
        try:
            root = psutil.Process(self.process.pid)
            return [root, *root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return []

    def stop(self) -> None:
        """SIGTERM to the server's own process group (it was started in a new session), then SIGKILL."""
        if self.process.poll() is not None:
            return
        try:
            os.killpg(self.process.pid, signal.SIGTERM)
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=5)
        except ProcessLookupError:
            pass


def _spawn(
    command: list[str], env: dict[str, str], port: int, log_path: Path, ready: Any, cwd: Path | None = None
) -> Server:
    with open(log_path, "wb") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd
        )
    server = Server(process, port, log_path)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(
                f"the server exited with {process.returncode}; see {log_path}:\n{log_path.read_text()[-3000:]}"
            )
        try:
            if ready(port):
                return server
        except OSError:
            pass
        time.sleep(0.2)
    server.stop()
    raise RuntimeError(f"the server was not ready within 90 s; see {log_path}")


def start_server(database_url: str, redis: str, workers: int, log_dir: Path) -> Server:
    """`saas serve` on a free port, ready when /readyz answers 200."""
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis,
        "LOG_LEVEL": "WARNING",
        "SAAS_ENV": "development",
        # A benchmark measures throughput, not the tenants' cost budgets (bench/tenants_fairness.py
        # does): without this, bench-big's budget answers most requests with 429.
        "TENANT_COST_PER_MINUTE": os.environ.get("TENANT_COST_PER_MINUTE", "1000000000"),
    }
    command = [*saas_command(), "serve", "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers)]
    return _spawn(command, env, port, log_dir / "server.log", lambda p: HttpClient(p).get("/readyz")[0] == 200)


POSTGRAPHILE_DIR = Path(__file__).resolve().parent / "postgraphile"


def start_postgraphile(database_url: str, workers: int, log_dir: Path, *, mutations: bool = False) -> Server:
    """PostGraphile (bench/postgraphile/server.js) as the application role, under RLS; with
    `mutations`, its default CRUD mutations too (`bench/writes.py`)."""
    from sqlalchemy.engine import make_url

    from saas.config import Settings

    node = shutil.which("node")
    if node is None:
        raise RuntimeError("node is not installed")
    if not (POSTGRAPHILE_DIR / "node_modules" / "postgraphile").exists():
        log("npm install (bench/postgraphile)")
        subprocess.run(
            ["npm", "install", "--no-audit", "--no-fund"], cwd=POSTGRAPHILE_DIR, check=True, capture_output=True
        )
    settings = Settings()
    url = make_url(database_url).set(
        drivername="postgresql", username=settings.app_role, password=settings.app_role_password
    )
    port = free_port()
    env = {
        **os.environ,
        "PG_URL": url.render_as_string(hide_password=False),
        "PORT": str(port),
        "WORKERS": str(workers),
        "SECRET_KEY": settings.secret_key,
        "NODE_ENV": "production",
        "MUTATIONS": "1" if mutations else "0",
    }

    def ready(p: int) -> bool:
        status, _ = HttpClient(p).post("/graphql", b'{"query": "{ __typename }"}', graphql_headers(None))
        return status == 200

    return _spawn([node, "server.js"], env, port, log_dir / "postgraphile.log", ready, cwd=POSTGRAPHILE_DIR)


class HttpClient:
    """One keep-alive connection (http.client: little client-side overhead)."""

    def __init__(self, port: int) -> None:
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def get(self, path: str) -> tuple[int, bytes]:
        self.connection.request("GET", path)
        response = self.connection.getresponse()
        return response.status, response.read()

    def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        self.connection.request("POST", path, body=body, headers=headers)
        response = self.connection.getresponse()
        return response.status, response.read()

    def close(self) -> None:
        self.connection.close()


def graphql_headers(token: str | None) -> dict[str, str]:
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def login_http(port: int) -> str:
    client = HttpClient(port)
    body = orjson.dumps(
        {
            "query": LOGIN,
            "variables": {"input": {"email": owner_email(BIG_SLUG), "password": PASSWORD, "tenant": BIG_SLUG}},
        }
    )
    status, payload = client.post("/graphql", body, graphql_headers(None))
    client.close()
    result = orjson.loads(payload)
    token = (result.get("data") or {}).get("login", {}).get("token")
    if status != 200 or not token:
        raise RuntimeError(f"login failed ({status}): {payload[:500]!r}")
    return token


# --- sampling memory and CPU ------------------------------------------------------------------


@dataclass
class Sampler:
    """Samples the server tree's RSS (peak) every `interval` s in a thread."""

    server: Server
    interval: float = 0.1
    peak_rss: int = 0
    peak_processes: int = 0
    peak_by_process: dict[str, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            rss = 0
            processes = self.server.tree()
            for p in processes:
                try:
                    one = p.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
                rss += one
                key = f"{p.pid} {_role_of(p)}"
                self.peak_by_process[key] = max(self.peak_by_process.get(key, 0), one)
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_processes = max(self.peak_processes, len(processes))
            self._stop.wait(self.interval)

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


def _role_of(process: psutil.Process) -> str:
    try:
        cmdline = " ".join(process.cmdline())
    except psutil.Error:
        return "?"
    if "multiprocessing" in cmdline and "resource_tracker" in cmdline:
        return "resource tracker"
    if "multiprocessing" in cmdline:
        return "worker"
    if " serve " in cmdline + " " or cmdline.endswith(" serve"):
        return "main"
    return process.name()


def cpu_snapshot(server: Server, database: str, loadgen_pid: int | None) -> dict[int, tuple[str, float]]:
    """CPU seconds (user + system) so far of the processes of interest, by pid, with their group."""
    groups: dict[int, str] = {p.pid: "server" for p in server.tree()}
    if loadgen_pid is not None:
        try:
            loadgen = psutil.Process(loadgen_pid)
            for p in (loadgen, *loadgen.children(recursive=True)):
                groups[p.pid] = "load generator"
        except psutil.NoSuchProcess:
            pass
    marker = f" {database} "
    for p in psutil.process_iter(["cmdline"]):
        try:
            cmdline = " ".join(p.info["cmdline"] or [])
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        # A backend's title: "postgres: <user> <database> <client> <state>".
        if p.pid not in groups and cmdline.startswith("postgres:") and marker in cmdline + " ":
            groups[p.pid] = "postgres"
    snapshot: dict[int, tuple[str, float]] = {}
    for pid, group in groups.items():
        try:
            times = psutil.Process(pid).cpu_times()
            snapshot[pid] = (group, times.user + times.system)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return snapshot


def connections_per_process(server: Server) -> list[int]:
    """The established client connections to the server's port held by each of its processes.

    Workers that share one listening socket split keep-alive connections as they accept them, and
    the split lasts as long as the connections: the busier worker's requests wait longer (the p99).
    Only processes holding some are listed, most first.
    """
    counts = []
    for process in server.tree():
        try:
            held = sum(
                1
                for c in process.net_connections(kind="tcp")
                if c.status == psutil.CONN_ESTABLISHED and c.laddr and c.laddr.port == server.port
            )
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        if held:
            counts.append(held)
    return sorted(counts, reverse=True)


def machine_busy_seconds() -> float:
    times = psutil.cpu_times()
    return sum(times) - times.idle - getattr(times, "iowait", 0.0)


def cpu_split(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]], busy: float
) -> dict[str, float]:
    used: dict[str, float] = {"server": 0.0, "postgres": 0.0, "load generator": 0.0}
    for pid, (group, seconds) in after.items():
        start = before.get(pid, (group, 0.0))[1]
        used[group] = used.get(group, 0.0) + max(0.0, seconds - start)
    used["everything else"] = max(0.0, busy - sum(used.values()))
    return used


# --- the load generator ---------------------------------------------------------------------


def ensure_wrk() -> str | None:
    found = shutil.which("wrk")
    if found:
        return found
    if os.geteuid() == 0 and shutil.which("apt-get"):
        log("wrk is missing: apt-get install -y wrk")
        result = subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True)
        if result.returncode != 0:
            subprocess.run(["apt-get", "update"], capture_output=True)
            subprocess.run(["apt-get", "install", "-y", "wrk"], capture_output=True)
    return shutil.which("wrk")


@dataclass
class LoadResult:
    tool: str
    data: dict[str, Any]
    cpu: dict[str, float]
    seconds: float
    # Established connections per server process, sampled halfway through the load, and each
    # server process's CPU during the load (cores), most first: an uneven split shows here.
    split: list[int] = field(default_factory=list)
    server_process_cores: list[float] = field(default_factory=list)

    @property
    def requests(self) -> int:
        return int(self.data["requests"])

    @property
    def rps(self) -> float:
        return self.requests / (self.data["duration_us"] / 1e6)

    @property
    def errors(self) -> int:
        d = self.data
        return int(
            d["errors_connect"] + d["errors_read"] + d["errors_write"] + d["errors_timeout"] + d["bad_responses"]
        )


def run_load(
    tool: str,
    server: Server,
    token: str,
    body: bytes,
    connections: int,
    threads: int,
    duration: float,
    work_dir: Path,
    database: str,
) -> LoadResult:
    url = f"{server.base}/graphql"
    if tool == "wrk":
        script = work_dir / "customers_page.lua"
        script.write_text(WRK_SCRIPT % {"body": body.decode(), "token": token})
        command = [
            "wrk",
            f"-t{threads}",
            f"-c{connections}",
            f"-d{duration:g}s",
            "--timeout",
            "10s",
            "--latency",
            "-s",
            str(script),
            url,
        ]
    else:
        body_file = work_dir / "body.json"
        body_file.write_bytes(body)
        command = [
            sys.executable,
            "-m",
            "bench.loadgen",
            "--url",
            url,
            "--body-file",
            str(body_file),
            "--token",
            token,
            "--connections",
            str(connections),
            "--processes",
            str(threads),
            "--duration",
            str(duration),
        ]
    return run_command_load(command, server, tool, database, duration)


def run_command_load(command: list[str], server: Server, tool: str, database: str, duration: float) -> LoadResult:
    """Run a load generator's `command` (its last output line `BENCH_JSON {...}`), sampling CPU."""
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=Path(__file__).resolve().parent.parent
    )
    time.sleep(0.05)
    before = cpu_snapshot(server, database, process.pid)
    busy_before = machine_busy_seconds()
    started = time.perf_counter()
    # The load generator's CPU is read just before it exits: poll until its output ends.
    last: dict[int, tuple[str, float]] = before
    split: list[int] = []
    while process.poll() is None:
        time.sleep(0.5)
        elapsed = time.perf_counter() - started
        if elapsed < duration - 0.5:
            last = cpu_snapshot(server, database, process.pid)
        if not split and elapsed >= duration / 2:
            split = connections_per_process(server)
    out, err = process.communicate()
    seconds = time.perf_counter() - started
    after = cpu_snapshot(server, database, None)
    # Keep the load generator's last reading (it has exited now).
    for pid, (group, secs) in last.items():
        if group == "load generator":
            after[pid] = (group, secs)
    busy = machine_busy_seconds() - busy_before
    text = out.decode(errors="replace")
    line = next((row for row in text.splitlines() if row.startswith("BENCH_JSON ")), None)
    if process.returncode != 0 or line is None:
        raise RuntimeError(
            f"{tool} failed ({process.returncode}):\n{text[-2000:]}\n{err.decode(errors='replace')[-2000:]}"
        )
    cpu = {k: v / seconds for k, v in cpu_split(before, after, busy).items()}  # in cores
    server_seconds = (
        secs - before.get(pid, (group, 0.0))[1] for pid, (group, secs) in after.items() if group == "server"
    )
    server_process_cores = sorted((used / seconds for used in server_seconds if used > 0.01 * seconds), reverse=True)
    data = json.loads(line[len("BENCH_JSON ") :])
    bad = next((row for row in text.splitlines() if row.startswith("FIRST_BAD ")), None)
    if bad is not None:  # a Lua script may name its first bad response
        data["first_bad"] = bad[len("FIRST_BAD ") :]
    return LoadResult(tool, data, cpu, seconds, split, server_process_cores)


# --- statements -----------------------------------------------------------------------------


def transactions_of(database: str) -> int:
    """Transactions committed and rolled back in the database (all backends), from pg_stat_database."""
    import psycopg2

    from bench.common import server_url
    from saas.db.engine import owner_url

    url = owner_url(server_url())
    conn = psycopg2.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        dbname=url.database or "postgres",
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", (database,))
            return int(cursor.fetchone()[0])
    finally:
        conn.close()


def settled_transactions(database: str, wait: float = 12.0) -> int:
    """pg_stat_database once idle backends have flushed their counts (PostgreSQL 15+: within 10 s)."""
    deadline = time.monotonic() + wait
    value = transactions_of(database)
    while time.monotonic() < deadline:
        time.sleep(1.0)
        value = transactions_of(database)
    return value


def statements_counter(port: int) -> float | None:
    """`db_statements_total` from the server's /metrics (None when it is not exposed)."""
    status, body = HttpClient(port).get("/metrics")
    if status != 200:
        return None
    for line in body.decode().splitlines():
        if line.startswith("db_statements_total "):
            return float(line.split()[1])
    return None


def statements_over_http(
    database_url: str, redis: str, tool: str, args: argparse.Namespace, work_dir: Path
) -> dict[int, float] | None:
    """Statements per request for each page size, from /metrics of a one-worker server under load.

    /metrics is per process, so this pass runs `saas serve --workers 1`; the counter is read
    before and after a short load of each page size (the first second compiles the statement
    and is not counted). Authentication's cache refresh (every 5 s) adds a little.
    """
    server = start_server(database_url, redis, 1, work_dir)
    try:
        token = login_http(server.port)
        if statements_counter(server.port) is None:
            return None
        result: dict[int, float] = {}
        for size in PAGE_SIZES:
            body = orjson.dumps({"query": CUSTOMERS_PAGE, "variables": {"first": size}})
            run_load(tool, server, token, body, args.connections, args.threads, 1, work_dir, args.database)
            before = statements_counter(server.port)
            load = run_load(
                tool,
                server,
                token,
                body,
                args.connections,
                args.threads,
                args.statements_seconds,
                work_dir,
                args.database,
            )
            after = statements_counter(server.port)
            if load.errors:
                raise RuntimeError(f"first: {size}: {load.errors} errors")
            result[size] = ((after or 0.0) - (before or 0.0)) / max(1, load.requests)
        return result
    finally:
        server.stop()


# --- in-process measurements ----------------------------------------------------------------


def in_process_checks(database: str, redis: str, deep: int) -> dict[str, Any]:
    client = InProcess.create(bench_url(database), redis)
    client.login(BIG_SLUG)
    client.raw(CUSTOMERS_PAGE, {"first": 10})  # warm: credential cache, compiled-statement cache
    statements = {}
    for size in PAGE_SIZES:
        body = client.raw(CUSTOMERS_PAGE, {"first": size})
        edges = orjson.loads(body)["data"]["customers"]["edges"]
        if len(edges) != size:
            raise RuntimeError(f"first: {size} returned {len(edges)} edges")
        statements[size] = client.last_statements
    started = time.perf_counter()
    cursor = deep_cursor(client, deep)
    walk = time.perf_counter() - started
    deep_page = orjson.loads(client.raw(CUSTOMERS_PAGE, {"first": 50, "after": cursor}))["data"]["customers"]
    first_page = orjson.loads(client.raw(CUSTOMERS_PAGE, {"first": 50}))["data"]["customers"]
    client.close()
    return {
        "statements_by_page_size": statements,
        "deep_cursor": cursor,
        "deep_walk_seconds": walk,
        "deep_first_name": deep_page["edges"][0]["node"]["name"],
        "first_page_first_name": first_page["edges"][0]["node"]["name"],
        "page_bytes": len(orjson.dumps(first_page)),
    }


def page_latencies(port: int, token: str, deep_cursor_value: str, n: int) -> dict[str, dict[str, float]]:
    """Page 1 and the deep page, one request at a time over one keep-alive connection, interleaved."""
    client = HttpClient(port)
    headers = graphql_headers(token)
    bodies = {
        "page 1": orjson.dumps({"query": CUSTOMERS_PAGE, "variables": {"first": 50}}),
        "deep page": orjson.dumps({"query": CUSTOMERS_PAGE, "variables": {"first": 50, "after": deep_cursor_value}}),
    }
    times: dict[str, list[float]] = {name: [] for name in bodies}
    for body in bodies.values():  # warm both
        for _ in range(20):
            client.post("/graphql", body, headers)
    for _ in range(n):
        for name, body in bodies.items():
            started = time.perf_counter()
            status, payload = client.post("/graphql", body, headers)
            times[name].append(time.perf_counter() - started)
            if status != 200 or not payload.startswith(b'{"data"'):
                raise RuntimeError(f"{name}: bad response {status}: {payload[:300]!r}")
    client.close()
    result = {}
    for name, values in times.items():
        values.sort()
        result[name] = {
            "mean_ms": statistics.fmean(values) * 1000,
            "p50_ms": percentile(values, 50) * 1000,
            "p99_ms": percentile(values, 99) * 1000,
        }
    return result


# --- the whole run --------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    load = os.getloadavg()
    return {
        "cpus": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu_model": _cpu_model(),
        "python": sys.version.split()[0],
        "loadavg_at_start": [round(x, 2) for x in load],
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def code_version() -> dict[str, Any]:
    """The commit measured, and whether the work tree differs from it (read-only git calls)."""
    if os.environ.get(CODE_ENV):
        import saas

        return {
            "commit": os.environ[CODE_ENV],
            "modified_files": 0,
            "snapshot": True,
            "saas_from": str(Path(saas.__file__).parent),
        }
    root = Path(__file__).resolve().parent.parent

    def git(*args: str) -> str:
        try:
            return subprocess.run(["git", *args], cwd=root, capture_output=True, text=True, timeout=10).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""

    changed = [line for line in git("status", "--porcelain", "--untracked-files=no").splitlines() if line.strip()]
    return {"commit": git("rev-parse", "--short", "HEAD"), "modified_files": len(changed)}


def postgres_version(database: str) -> str:
    import psycopg2

    from saas.db.engine import owner_url

    url = owner_url(bench_url(database))
    conn = psycopg2.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname=database
    )
    try:
        with conn.cursor() as cursor:
            cursor.execute("SHOW server_version")
            return str(cursor.fetchone()[0])
    finally:
        conn.close()


def load_summary(load: LoadResult) -> dict[str, Any]:
    latency = load.data["latency_us"]
    return {
        "requests": load.requests,
        "seconds": load.data["duration_us"] / 1e6,
        "req_per_s": load.rps,
        "latency_ms": {k: latency[k] / 1000 for k in ("p50", "p75", "p90", "p99", "p999", "mean", "max")},
        "errors": load.errors,
        "errors_detail": {
            k: v for k, v in load.data.items() if k.startswith("errors_") or k in ("bad_responses", "checked")
        },
        "cpu_cores": load.cpu,
        "connections_per_process": load.split,
        "server_process_cores": load.server_process_cores,
        "bytes_per_response": load.data["bytes"] / max(1, load.requests),
    }


def measure(
    server: Server, tool: str, token: str, body: bytes, args: argparse.Namespace, work_dir: Path
) -> dict[str, Any]:
    """Warm-up, then the measured load; with PostgreSQL's transaction count around the latter."""
    if args.warmup > 0:
        log(f"warm-up: {args.warmup:g} s")
        run_load(tool, server, token, body, args.connections, args.threads, args.warmup, work_dir, args.database)
    transactions_before = settled_transactions(args.database, wait=args.stats_wait)
    loads = []
    for attempt in range(args.repeat):
        log(
            f"load: {args.connections} connections for {args.duration:g} s with {tool} (run {attempt + 1}/{args.repeat})"
        )
        loads.append(
            run_load(tool, server, token, body, args.connections, args.threads, args.duration, work_dir, args.database)
        )
    transactions_after = settled_transactions(args.database, wait=args.stats_wait)
    # The machine may be shared: report the run that other processes disturbed least.
    load = min(loads, key=lambda run: run.cpu["everything else"])
    summary = load_summary(load)
    requests = sum(run.requests for run in loads)
    summary["transactions_per_request"] = (transactions_after - transactions_before) / max(1, requests)
    summary["runs"] = [
        {
            "req_per_s": run.rps,
            "p99_ms": run.data["latency_us"]["p99"] / 1000,
            "other_cpu_cores": run.cpu["everything else"],
            "connections_per_process": run.split,
        }
        for run in loads
    ]
    return summary


def check_page(port: int, body: bytes, token: str, connection_field: str) -> None:
    status, payload = HttpClient(port).post("/graphql", body, graphql_headers(token))
    page = orjson.loads(payload)
    if status != 200 or "errors" in page or len(page["data"][connection_field]["edges"]) != 50:
        raise RuntimeError(f"the customers page failed over HTTP ({status}): {payload[:500]!r}")


def check_answer(port: int, body: bytes, token: str, name: str) -> None:
    status, payload = HttpClient(port).post("/graphql", body, graphql_headers(token))
    if status != 200 or not payload.startswith(b'{"data"'):
        raise RuntimeError(f"{name} failed over HTTP ({status}): {payload[:500]!r}")


def measure_customers(
    server: Server, tool: str, token: str, args: argparse.Namespace, work_dir: Path, result: dict[str, Any]
) -> None:
    """The customers page: the measured load, the optional sweep, page 1 against the deep page."""
    body = orjson.dumps({"query": CUSTOMERS_PAGE, "variables": {"first": 50}})
    check_page(server.port, body, token, "customers")
    result["load"] = measure(server, tool, token, body, args, work_dir)
    if args.sweep:
        result["sweep"] = []
        for connections in args.sweep:
            log(f"sweep: {connections} connections for {args.sweep_seconds:g} s")
            threads = max(1, min(args.threads, connections))
            point = run_load(
                tool, server, token, body, connections, threads, args.sweep_seconds, work_dir, args.database
            )
            latency = point.data["latency_us"]
            result["sweep"].append(
                {
                    "connections": connections,
                    "req_per_s": point.rps,
                    "errors": point.errors,
                    "p50_ms": latency["p50"] / 1000,
                    "p99_ms": latency["p99"] / 1000,
                    "cpu_cores": point.cpu,
                }
            )
    log(f"page 1 against the deep page: {args.samples} requests each, one at a time")
    result["pages"] = page_latencies(server.port, token, result["in_process"]["deep_cursor"], args.samples)


def measure_sales(
    server: Server, tool: str, token: str, scenarios: list[Any], args: argparse.Namespace, work_dir: Path
) -> dict[str, Any]:
    """Each sales scenario under the same load as the customers page, with its in-process statement count."""
    measured: dict[str, Any] = {}
    for scenario in scenarios:
        log(f"scenario {scenario.name}")
        check_answer(server.port, scenario.body, token, scenario.name)
        summary = measure(server, tool, token, scenario.body, args, work_dir)
        summary["statements_per_request"] = scenario.statements
        summary["answer"] = scenario.size
        measured[scenario.name] = summary
    return measured


def run(args: argparse.Namespace) -> dict[str, Any]:
    from bench.sales import sales_scenarios
    from bench.seed import seed

    redis = redis_url()
    seed(args.database, log=log)
    database_url = bench_url(args.database)
    result: dict[str, Any] = {
        "machine": machine(),
        "postgres": postgres_version(args.database),
        "code": code_version(),
        "config": {
            "workers": args.workers,
            "connections": args.connections,
            "threads": args.threads,
            "duration_s": args.duration,
            "warmup_s": args.warmup,
            "deep": args.deep,
        },
    }
    if args.scenarios == ("targets",):  # bench/targets.py: every read target beside PostGraphile and pgbench
        from bench.targets import measure_targets

        result["scenarios"] = ["targets"]
        result["load_generator"] = "wrk" if args.loadgen in ("auto", "wrk") and ensure_wrk() else "python"
        work_dir = Path(tempfile.mkdtemp(prefix="saas-bench-"))
        measure_targets(args, redis, work_dir, result)
        shutil.rmtree(work_dir, ignore_errors=True)
        return result
    if args.scenarios == ("writes",):  # bench/writes.py: createCustomer and moveOpportunity beside PostGraphile
        from bench.writes import measure_writes

        result["scenarios"] = ["writes"]
        result["load_generator"] = "wrk" if args.loadgen in ("auto", "wrk") and ensure_wrk() else "python"
        work_dir = Path(tempfile.mkdtemp(prefix="saas-bench-"))
        measure_writes(args, redis, work_dir, result)
        shutil.rmtree(work_dir, ignore_errors=True)
        return result
    customers = "customers" in args.scenarios
    wanted_sales = [SALES_SCENARIOS[name] for name in args.scenarios if name in SALES_SCENARIOS]
    result["scenarios"] = list(args.scenarios)
    if customers:
        log("in-process: statements per page size, and the deep cursor")
        result["in_process"] = in_process_checks(args.database, redis, args.deep)
    sales = [s for s in sales_scenarios(args.database, redis) if s.name in wanted_sales] if wanted_sales else []

    tool = args.loadgen
    if tool in ("auto", "wrk"):
        tool = "wrk" if ensure_wrk() else "python"
        if args.loadgen == "wrk" and tool != "wrk":
            raise RuntimeError("wrk is not installed and could not be installed")
    result["load_generator"] = tool

    work_dir = Path(tempfile.mkdtemp(prefix="saas-bench-"))
    log(f"starting saas serve --workers {args.workers} (log: {work_dir / 'server.log'})")
    server = start_server(database_url, redis, args.workers, work_dir)
    sampler = Sampler(server)
    sampler.start()
    try:
        token = login_http(server.port)
        if customers:
            measure_customers(server, tool, token, args, work_dir, result)
        if sales:
            result["sales"] = measure_sales(server, tool, token, sales, args, work_dir)
        metrics_status, metrics_body = HttpClient(server.port).get("/metrics")
    finally:
        sampler.stop()
        server.stop()
        log("server stopped")
    result["memory"] = {
        "peak_rss_mib": sampler.peak_rss / 2**20,
        "processes": sampler.peak_processes,
        "peak_by_process_mib": {k: round(v / 2**20, 1) for k, v in sampler.peak_by_process.items()},
    }
    if customers:
        log("statements per request over HTTP: saas serve --workers 1, /metrics around a short load per page size")
        result["statements"] = {
            "http_by_page_size": statements_over_http(database_url, redis, tool, args, work_dir),
            "in_process_by_page_size": result["in_process"]["statements_by_page_size"],
            "server_transactions_per_request": result["load"]["transactions_per_request"],
            "db_statements_total_in_metrics": b"db_statements_total" in metrics_body if metrics_status == 200 else None,
        }

    if args.postgraphile and customers:
        log(f"starting PostGraphile with {args.workers} worker(s) (log: {work_dir / 'postgraphile.log'})")
        pg_server = start_postgraphile(database_url, args.workers, work_dir)
        pg_sampler = Sampler(pg_server)
        pg_sampler.start()
        try:
            pg_body = orjson.dumps({"query": POSTGRAPHILE_PAGE, "variables": {"first": 50}})
            check_page(pg_server.port, pg_body, token, "allCustomers")
            result["postgraphile"] = measure(pg_server, tool, token, pg_body, args, work_dir)
        finally:
            pg_sampler.stop()
            pg_server.stop()
            log("PostGraphile stopped")
        result["postgraphile"]["peak_rss_mib"] = pg_sampler.peak_rss / 2**20
    shutil.rmtree(work_dir, ignore_errors=True)
    return result


def split_line(load: dict[str, Any]) -> str:
    """How the load's connections and the server's CPU were split between its processes."""
    connections = "/".join(str(n) for n in load.get("connections_per_process") or []) or "?"
    cores = "/".join(f"{c:.2f}" for c in load.get("server_process_cores") or []) or "?"
    return f"connections per server process {connections}; CPU per server process {cores} cores"


def _print_runs(load: dict[str, Any]) -> None:
    runs = load["runs"]
    print("  " + split_line(load))
    if len(runs) > 1:
        print(
            "  runs (the least disturbed is reported): "
            + "; ".join(
                f"{run['req_per_s']:.0f} req/s, p99 {run['p99_ms']:.0f} ms, others {run['other_cpu_cores']:.2f} cores"
                for run in runs
            )
        )
    if load["cpu_cores"]["everything else"] > 0.2:
        print(
            f"  warning: other processes used {load['cpu_cores']['everything else']:.2f} cores during the load: the numbers are low"
        )


def print_report(r: dict[str, Any]) -> None:
    if "load" in r:
        print_customers_report(r)
    if "sales" in r:
        print_sales_report(r)
    if "targets" in r:
        from bench.targets import print_targets

        print_targets(r)
    if "writes" in r:
        from bench.writes import print_writes

        print_writes(r)


def _header(r: dict[str, Any]) -> None:
    m, c = r["machine"], r["config"]
    print(
        f"  machine: {m['cpus']} CPUs ({m['cpu_model']}), {m['memory_gib']} GiB, Python {m['python']}, PostgreSQL {r['postgres']}, "
        f"load average at start {m['loadavg_at_start'][0]}"
    )
    code = r["code"]
    where = (
        f" (snapshot via --commit: {code['saas_from']})"
        if code.get("snapshot")
        else (f" + {code['modified_files']} modified files in the work tree" if code["modified_files"] else "")
    )
    print(f"  code: commit {code['commit']}{where}")
    print(
        f"  server: saas serve --workers {c['workers']}; load: {r['load_generator']}, {c['connections']} connections, "
        f"{c['threads']} threads, {c['duration_s']:g} s after {c['warmup_s']:g} s warm-up"
    )


def print_sales_report(r: dict[str, Any]) -> None:
    print()
    print("Sales scenarios (tenant bench-big: 100,000 customers with their sales history; as its owner)")
    _header(r)
    for name, load in r["sales"].items():
        lat = load["latency_ms"]
        print()
        print(f"  {name}: {load['answer']}")
        print(
            f"  requests/s          {load['req_per_s']:10.0f}   ({load['requests']} requests in {load['seconds']:.1f} s)"
        )
        print(f"  latency p50         {lat['p50']:10.2f} ms")
        print(f"  latency p99         {lat['p99']:10.2f} ms   (max {lat['max']:.1f} ms)")
        print(f"  errors              {load['errors']:10d}")
        print(f"  SQL statements/req  {load['statements_per_request']:10d}   (in-process count)")
        print(f"  DB transactions/req {load['transactions_per_request']:10.3f}   (server side, pg_stat_database)")
        print("  CPU during the load (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in load["cpu_cores"].items()))
        _print_runs(load)
        print(f"  response size       {load['bytes_per_response']:10.0f} bytes (incl. headers)")


def print_customers_report(r: dict[str, Any]) -> None:
    c, load = r["config"], r["load"]
    lat = load["latency_ms"]
    st = r["statements"]
    print()
    print("Customers page benchmark (first: 50, with contacts; tenant bench-big: 100,000 customers, 99 other tenants)")
    _header(r)
    print()
    print(f"  requests/s          {load['req_per_s']:10.0f}   ({load['requests']} requests in {load['seconds']:.1f} s)")
    print(f"  latency p50         {lat['p50']:10.2f} ms")
    print(f"  latency p90         {lat['p90']:10.2f} ms")
    print(f"  latency p99         {lat['p99']:10.2f} ms   (max {lat['max']:.1f} ms)")
    print(
        f"  errors              {load['errors']:10d}   (non-200 or not data-first, all {load['errors_detail'].get('checked', 0)} responses checked)"
    )
    http_sizes = st["http_by_page_size"]
    if http_sizes:
        print(
            f"  SQL statements/req  {http_sizes[50]:10.3f}   (/metrics db_statements_total, 1 worker; page size 10/50/100: "
            + "/".join(f"{http_sizes[n]:.3f}" for n in PAGE_SIZES)
            + ")"
        )
    sizes = st["in_process_by_page_size"]
    print(
        f"  SQL statements/req  {sizes[50]:10d}   (in-process count; page size 10/50/100: "
        f"{sizes[10]}/{sizes[50]}/{sizes[100]}{', constant' if len(set(sizes.values())) == 1 else ', NOT CONSTANT'})"
    )
    print(
        f"  DB transactions/req {st['server_transactions_per_request']:10.3f}   (server side, pg_stat_database, all workers)"
    )
    parts = ", ".join(f"{k.split(' ', 1)[1]} {v:.0f}" for k, v in r["memory"]["peak_by_process_mib"].items())
    print(
        f"  server peak memory  {r['memory']['peak_rss_mib']:10.0f} MiB (RSS summed over {r['memory']['processes']} processes: {parts})"
    )
    cpu = load["cpu_cores"]
    print("  CPU during the load (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    _print_runs(load)
    print(f"  response size       {load['bytes_per_response']:10.0f} bytes (incl. headers)")
    print()
    print(f"  one request at a time    mean       p50       p99   (deep page: after {c['deep']:,} customers)")
    for name, v in r["pages"].items():
        print(f"  {name:<20} {v['mean_ms']:8.2f} ms {v['p50_ms']:7.2f} ms {v['p99_ms']:7.2f} ms")
    ratio = r["pages"]["deep page"]["mean_ms"] / r["pages"]["page 1"]["mean_ms"]
    print(f"  deep page / page 1 (mean): {ratio:.2f}")
    if r.get("sweep"):
        print()
        print("  connections  req/s    p50 ms    p99 ms   CPU: server  postgres  others")
        for point in r["sweep"]:
            cpu = point["cpu_cores"]
            print(
                f"  {point['connections']:>11} {point['req_per_s']:>6.0f} {point['p50_ms']:>9.2f} {point['p99_ms']:>9.2f} "
                f"{cpu['server']:>13.2f} {cpu['postgres']:>9.2f} {cpu['everything else']:>7.2f}"
            )
    if "postgraphile" in r:
        pg = r["postgraphile"]
        pl = pg["latency_ms"]
        print()
        print(f"  PostGraphile (same database, app role under RLS, {c['workers']} worker(s), same load):")
        print(
            f"  requests/s {pg['req_per_s']:.0f}, p50 {pl['p50']:.2f} ms, p90 {pl['p90']:.2f} ms, p99 {pl['p99']:.2f} ms, "
            f"errors {pg['errors']}, transactions/req {pg['transactions_per_request']:.3f}, peak memory {pg['peak_rss_mib']:.0f} MiB"
        )
        print("  CPU during the load (cores): " + ", ".join(f"{k} {v:.2f}" for k, v in pg["cpu_cores"].items()))
        _print_runs(pg)
        print(f"  saas / PostGraphile requests/s: {load['req_per_s'] / pg['req_per_s']:.2f}")
    if st["db_statements_total_in_metrics"] is False:
        print("\n  note: /metrics does not expose db_statements_total (statements counted in-process instead)")


def _scenarios(value: str) -> tuple[str, ...]:
    names = SCENARIOS[:3] if value == "all" else tuple(v.strip() for v in value.split(",") if v.strip())
    unknown = set(names) - set(SCENARIOS)
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"scenarios are {', '.join(SCENARIOS)} or all")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="HTTP benchmark of the customers list against `saas serve`.")
    parser.add_argument("--database", default=DEFAULT_DATABASE, help="benchmark database (default %(default)s)")
    parser.add_argument("--workers", type=int, default=2, help="saas serve --workers (default %(default)s)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default %(default)s)")
    parser.add_argument("--threads", type=int, default=2, help="load generator threads/processes (default %(default)s)")
    parser.add_argument("--duration", type=float, default=20.0, help="measured seconds (default %(default)s)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds (default %(default)s)")
    parser.add_argument("--deep", type=int, default=50_000, help="customers before the deep page (default %(default)s)")
    parser.add_argument(
        "--samples", type=int, default=300, help="requests of each page for page 1 vs deep (default %(default)s)"
    )
    parser.add_argument(
        "--loadgen",
        choices=("auto", "wrk", "python"),
        default="auto",
        help="load generator (default: wrk if available)",
    )
    parser.add_argument(
        "--sweep",
        type=lambda v: [int(x) for x in v.split(",")],
        default=None,
        help="also measure these connection counts, e.g. 1,2,4,8,16,32 (short runs)",
    )
    parser.add_argument(
        "--sweep-seconds", type=float, default=6.0, help="seconds per sweep point (default %(default)s)"
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="measured runs per server; the least disturbed is reported (default %(default)s)",
    )
    parser.add_argument(
        "--statements-seconds",
        type=float,
        default=3.0,
        help="load per page size in the statements pass (default %(default)s)",
    )
    parser.add_argument(
        "--postgraphile", action="store_true", help="also measure PostGraphile (bench/postgraphile, needs node)"
    )
    parser.add_argument("--stats-wait", type=float, default=12.0, help=argparse.SUPPRESS)
    parser.add_argument(
        "--scenarios",
        type=_scenarios,
        default=("customers",),
        help="comma-separated: customers (the customers page, with the PostGraphile comparison), customer360, "
        "pipeline, or all (default: customers); alone: targets (bench/targets.py) or writes (bench/writes.py)",
    )
    parser.add_argument(
        "--targets",
        type=lambda v: tuple(name.strip().lower() for name in v.split(",") if name.strip()),
        default=(),
        help="with --scenarios targets: only the targets whose names contain these words, comma-separated "
        "(e.g. 'customers page'; default: every target)",
    )
    parser.add_argument("--json", type=Path, help="also write the result as JSON to this file")
    parser.add_argument("--commit", help="benchmark the saas code of this commit (e.g. HEAD) instead of the work tree")
    args = parser.parse_args(argv)
    if args.commit:
        run_at_commit(args.commit, "bench.run", argv)
    result = run(args)
    print_report(result)
    if args.json:
        args.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS))
    return 0


if __name__ == "__main__":
    sys.exit(main())
