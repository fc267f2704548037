"""What the benchmark scripts share: the database names, the workload's query, an in-process client."""

from __future__ import annotations

import asyncio
import io
import math
import os
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

from sqlalchemy.engine import make_url

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_DATABASE = "saas_bench"

BIG_SLUG = "bench-big"
BIG_CUSTOMERS = 100_000
TENANTS = 100
PASSWORD = "bench-password-123"


REPO_ROOT = Path(__file__).resolve().parent.parent
CODE_ENV = "SAAS_BENCH_CODE"


def run_at_commit(revision: str, module: str, argv: list[str] | None) -> NoReturn:
    """Run `python -m module argv` again (`argv` None: this process's arguments), without its
    `--commit`, with `saas` imported from a commit instead of the work tree.

    The commit's `saas/` is extracted (`git archive`, read-only for the repository) to a
    temporary folder that goes first on PYTHONPATH; the benchmark itself still comes from
    this work tree. Useful while others edit the work tree: the numbers then name a commit.
    """
    argv = strip_option(sys.argv[1:] if argv is None else argv, "--commit")

    def git(*args: str) -> bytes:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, check=True, capture_output=True).stdout

    commit = git("rev-parse", "--verify", f"{revision}^{{commit}}").decode().strip()
    target = Path(tempfile.gettempdir()) / f"saas-bench-code-{commit[:12]}"
    if not target.exists():
        staging = Path(tempfile.mkdtemp(prefix="saas-bench-code-"))
        with tarfile.open(fileobj=io.BytesIO(git("archive", "--format=tar", commit, "saas"))) as archive:
            archive.extractall(staging, filter="data")
        staging.rename(target)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(REPO_ROOT)]), CODE_ENV: commit[:12]}
    # `python -m` puts the current directory first on sys.path: run from the snapshot, so that
    # its `saas` wins over the work tree's (path arguments are made absolute first).
    absolute = []
    for i, arg in enumerate(argv):
        option, equals, value = arg.partition("=")
        if i and argv[i - 1] in PATH_OPTIONS:
            arg = str(Path(arg).resolve())
        elif equals and option in PATH_OPTIONS:
            arg = f"{option}={Path(value).resolve()}"
        absolute.append(arg)
    argv = absolute
    os.chdir(target)
    os.execve(sys.executable, [sys.executable, "-m", module, *argv], env)


PATH_OPTIONS = ("--json",)


def callgrind(switch: str) -> None:
    """Switches callgrind's instrumentation of this process `"on"` or `"off"` (`callgrind_control`;
    the process runs under `valgrind --tool=callgrind --instr-atstart=no`), so that only the work
    between the two is counted."""
    subprocess.run(["callgrind_control", f"--instr={switch}", str(os.getpid())], check=True, stdout=subprocess.DEVNULL)


def strip_option(argv: list[str], option: str) -> list[str]:
    """argv without `option VALUE` / `option=VALUE`."""
    out, skip = [], False
    for arg in argv:
        if skip:
            skip = False
        elif arg == option:
            skip = True
        elif not arg.startswith(option + "="):
            out.append(arg)
    return out


def owner_email(slug: str) -> str:
    return f"owner@{slug}.example.com"


def server_url() -> str:
    """The PostgreSQL server (any database on it): `DATABASE_URL`, else the local default."""
    return os.environ.get("DATABASE_URL") or DEFAULT_SERVER_URL


def redis_url() -> str:
    return os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL


def bench_url(database: str, server: str | None = None) -> str:
    """The benchmark database's URL on the server of `server` (default: `DATABASE_URL`)."""
    url = make_url(server or server_url()).set(database=database)
    return url.render_as_string(hide_password=False)


# The workload: one page of customers with ~12 scalar fields and their contacts. totalCount is
# left out on purpose (it counts every row of the tenant: a separate, opt-in cost).
CUSTOMERS_PAGE = """query CustomersPage($first: Int!, $after: String) {
  customers(first: $first, after: $after) {
    edges {
      cursor
      node {
        id
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
        contacts { id name email phone isPrimary }
      }
    }
    pageInfo { hasNextPage endCursor }
  }
}"""

# Only the cursor of the page's end: used to walk deep into the list cheaply.
END_CURSOR = """query EndCursor($first: Int!, $after: String) {
  customers(first: $first, after: $after) { pageInfo { hasNextPage endCursor } }
}"""

LOGIN = """mutation Login($input: LoginInput!) {
  login(input: $input) { token userErrors { field code message } }
}"""


def session_options() -> str:
    """The options of the application's own connections (`saas.db.engine.SESSION_OPTIONS`), so that
    the SQL ceilings run under the server's session settings; the code of a commit from before
    that name (`--commit`): the time zone only, as its connections had."""
    try:
        from saas.db.engine import SESSION_OPTIONS
    except ImportError:
        return "-c timezone=UTC"
    return str(SESSION_OPTIONS)


def make_settings(database_url: str, redis: str, **overrides: Any) -> Any:
    """The settings of an in-process driver; `overrides` by their environment names
    (`DB_PREPARED_WRITES=False`)."""
    from saas.config import Settings

    return Settings(DATABASE_URL=database_url, REDIS_URL=redis, LOG_LEVEL="WARNING", LOG_JSON=False, **overrides)


@dataclass
class InProcess:
    """The request path without HTTP: authenticate, prepare, execute, serialise (like tests' GraphQLClient).

    One event loop for every call, so that repeated calls measure the steady state.
    """

    engine: Any
    token: str | None = None
    last_statements: int = 0
    last_execute_statements: int = 0

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()

    @classmethod
    def create(cls, database_url: str, redis: str, **overrides: Any) -> InProcess:
        from saas.runtime import create_runtime
        from saas.schema.engine import GraphQLEngine

        runtime = create_runtime(make_settings(database_url, redis, **overrides), database_url, redis)
        return cls(GraphQLEngine(runtime))

    async def _request(self, query: str, variables: dict[str, Any] | None) -> bytes:
        from saas.db.statements import counting
        from saas.schema.engine import OperationError, dumps

        # Authentication's statements (on its 5 s cache misses) are counted here; execution
        # counts its own in a nested `counting()` (ExecutionOutcome.statements), which does not
        # add to an enclosing one.
        with counting() as auth_statements:
            principal = await asyncio.to_thread(
                self.engine.runtime.authenticate, f"Bearer {self.token}" if self.token else None
            )
        try:
            prepared = self.engine.prepare(query, None, principal)  # the tenant's plugins' schema
        except OperationError as error:
            return dumps({"errors": error.errors})
        outcome = await self.engine.execute(prepared, variables, principal, "bench")
        self.last_statements = auth_statements[0] + outcome.statements
        self.last_execute_statements = outcome.statements
        return dumps(outcome.payload)

    def raw(self, query: str, variables: dict[str, Any] | None = None) -> bytes:
        return self.loop.run_until_complete(self._request(query, variables))

    def data(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        import orjson

        result = orjson.loads(self.raw(query, variables))
        if result.get("errors"):
            raise RuntimeError(f"GraphQL errors: {result['errors']}")
        return result["data"]

    def login(self, slug: str) -> str:
        result = self.data(LOGIN, {"input": {"email": owner_email(slug), "password": PASSWORD, "tenant": slug}})
        token = result["login"]["token"]
        if not token:
            raise RuntimeError(f"login failed: {result}")
        self.token = token
        return token

    def close(self) -> None:
        self.loop.close()
        self.engine.runtime.close()


def deep_cursor(client: InProcess, depth: int, step: int = 100) -> str | None:
    """The cursor after the first `depth` customers, found by following `endCursor` (pages of `step`)."""
    after: str | None = None
    walked = 0
    while walked < depth:
        size = min(step, depth - walked)
        info = client.data(END_CURSOR, {"first": size, "after": after})["customers"]["pageInfo"]
        after = info["endCursor"]
        walked += size
        if not info["hasNextPage"]:
            break
    return after


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an ascending list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def graphql_post_scope(headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    """The ASGI scope uvicorn hands the application for a POST /graphql with these headers (the
    in-process drivers of `bench.profile` and `bench.http_path`)."""
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
