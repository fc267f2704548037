"""The write targets side by side in one run: `createCustomer` and `moveOpportunity`, ours against
PostGraphile's default CRUD mutations, and PostgreSQL's own ceiling for our statements.

    python -m bench.run --scenarios writes --postgraphile [--duration 10] [--json result.json]

- **ours**: `saas serve --workers N` under wrk, as the owner of `bench-big`. Every request is a
  distinct mutation, made by the Lua script: `createCustomer` with a name unique to the run, the
  wrk thread and the request (the duplicate check finds nothing and takes an uncontended lock);
  `moveOpportunity` over `OPPORTUNITIES` open opportunities, each wrk thread walking its own
  slice, one opportunity after the other, into the second open stage on the first pass, back into
  the first on the next, so no two requests wait on one row's lock. Before each load the slice is
  put back into the first stage (one UPDATE as the database owner: a benchmark's setup, not a
  move). Our audit entry, domain event (outbox) and stage history are written by every request.
- **PostGraphile**: `bench/postgraphile/server.js` with `MUTATIONS=1` (its default mutations on;
  reads as before): `createCustomer(input: {customer: {tenantId, name}})` and
  `updateOpportunityByTenantIdAndId(input: {tenantId, id, opportunityPatch: {stageId}})`, the same
  role and row-level security (the policy's WITH CHECK needs the tenant id: the input names it),
  the same token, the same payload fields (the opportunity's stage through its foreign key).
- Every response is checked: HTTP 200, no `errors`, and ours with `"userErrors":[]`.
- **Statements per request** (ours): in-process, with the engine's statement counter (as the
  tests count them, `tests/test_write_statements.py`).
- **SQL ceiling**: the statements our mutation runs, captured in-process as text with their values,
  under `pgbench -M simple` and, for the move, `-M prepared` (the server prepares them:
  `DB_PREPARED_WRITES`) in a transaction (BEGIN, the statements, COMMIT: the round trips our path
  makes) from the same number of connections as the application role. New rows get new ids
  (`gen_random_uuid()`), the customer's name (and so the duplicate check's lock) is unique per
  transaction, and each pgbench client moves its own opportunity. No Python, no HTTP.

The ratios are computed within this one run; the machine is shared, so only ratios are compared.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import shutil
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import orjson

from bench.common import BIG_SLUG, InProcess, bench_url, session_options

OPPORTUNITIES = 20000  # a 10 s load at these rates moves each one once (one pass)

CREATE = (
    "mutation CreateCustomer($input: CreateCustomerInput!) { createCustomer(input: $input) { "
    "customer { id name kind lifecycleStage version createdAt } userErrors { field code message } } }"
)
MOVE = (
    "mutation MoveOpportunity($input: MoveOpportunityInput!) { moveOpportunity(input: $input) { "
    "opportunity { id status version stage { id name } } userErrors { field code message } } }"
)
POSTGRAPHILE_CREATE = (
    "mutation CreateCustomer($input: CreateCustomerInput!) { createCustomer(input: $input) { "
    "customer { id: nodeId name kind lifecycleStage version createdAt } } }"
)
POSTGRAPHILE_MOVE = (
    "mutation MoveOpportunity($input: UpdateOpportunityByTenantIdAndIdInput!) { "
    "updateOpportunityByTenantIdAndId(input: $input) { "
    "opportunity { id: nodeId status version stage: pipelineStageByTenantIdAndStageId { id: nodeId name } } } }"
)

# The request body of each mutation, with `@NAME@` / `@ID@` / `@STAGE@` filled in by the Lua script.
BODIES = {
    ("create", "ours"): {"query": CREATE, "variables": {"input": {"name": "@NAME@"}}},
    ("move", "ours"): {"query": MOVE, "variables": {"input": {"id": "@ID@", "stageId": "@STAGE@"}}},
    ("create", "PostGraphile"): {
        "query": POSTGRAPHILE_CREATE,
        "variables": {"input": {"customer": {"tenantId": "@TENANT@", "name": "@NAME@"}}},
    },
    ("move", "PostGraphile"): {
        "query": POSTGRAPHILE_MOVE,
        "variables": {"input": {"tenantId": "@TENANT@", "id": "@ID@", "opportunityPatch": {"stageId": "@STAGE@"}}},
    },
}

WRK_WRITES = r"""
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["Authorization"] = "Bearer @TOKEN@"

local kind = "@KIND@"
local prefix = "@PREFIX@"
local expect = [==[@EXPECT@]==]
local template = [==[@BODY@]==]
local opportunities = { @OPPORTUNITIES@ }
local stages = { @STAGES@ }
local thread_count = @THREADS@
local threads = {}

function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  bad = 0
  checked = 0
  counter = 0
  first_bad = ""
end

local function fill(body, key, value)
  return (string.gsub(body, "@" .. key .. "@", value))
end

-- A distinct body per request: a unique name, or the next opportunity of this thread's slice.
function request()
  counter = counter + 1
  local body = template
  if kind == "create" then
    body = fill(body, "NAME", prefix .. "-" .. index .. "-" .. counter)
  else
    local per = math.floor(#opportunities / thread_count)
    local k = (counter - 1) % per
    local pass = math.floor((counter - 1) / per)
    body = fill(body, "ID", opportunities[index * per + k + 1])
    body = fill(body, "STAGE", stages[(pass % 2) + 1])
  end
  return wrk.format(nil, nil, nil, body)
end

-- Every response is checked: HTTP 200, no errors, and the expected text (ours: no user errors).
function response(status, headers, body)
  checked = checked + 1
  if status ~= 200 or string.find(body, '"errors"', 1, true) or not string.find(body, expect, 1, true) then
    bad = bad + 1
    if first_bad == "" then first_bad = string.sub(body, 1, 300) end
  end
end

function done(summary, latency, requests)
  local bad_total, checked_total = 0, 0
  local sample = ""
  for _, t in ipairs(threads) do
    bad_total = bad_total + t:get("bad")
    checked_total = checked_total + t:get("checked")
    if sample == "" then sample = t:get("first_bad") end
  end
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "errors_connect": %d, "errors_read": %d, ' ..
    '"errors_write": %d, "errors_status": %d, "errors_timeout": %d, "bad_responses": %d, "checked": %d, ' ..
    '"latency_us": {"min": %d, "mean": %.1f, "max": %d, "stdev": %.1f, "p50": %d, "p75": %d, "p90": %d, "p99": %d, "p999": %d}}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    bad_total, checked_total, latency.min, latency.mean, latency.max, latency.stdev,
    latency:percentile(50), latency:percentile(75), latency:percentile(90), latency:percentile(99),
    latency:percentile(99.9)))
  if sample ~= "" then io.write("FIRST_BAD " .. sample .. "\n") end
end
"""


def _lua_list(values: list[str]) -> str:
    return ", ".join(f'"{v}"' for v in values)


def wrk_script(
    kind: str, server: str, token: str, tenant: str, opportunities: list[str], stages: list[str], threads: int
) -> str:
    body = orjson.dumps(BODIES[(kind, server)]).decode().replace("@TENANT@", tenant)
    values = {
        "TOKEN": token,
        "KIND": kind,
        "PREFIX": f"wbench-{secrets.token_hex(4)}",
        "EXPECT": '"userErrors":[]' if server == "ours" else '{"data"',
        "BODY": body,
        "OPPORTUNITIES": _lua_list(opportunities),
        "STAGES": _lua_list(stages),
        "THREADS": str(threads),
    }
    script = WRK_WRITES
    for key, value in values.items():
        script = script.replace(f"@{key}@", value)
    return script


# --- the data the writes use ------------------------------------------------------------------


def owner_connection(database: str) -> Any:
    import psycopg2

    from saas.db.engine import owner_url

    url = owner_url(bench_url(database))
    conn = psycopg2.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, dbname=database
    )
    conn.autocommit = True
    return conn


def write_fixture(database: str, tenant: str) -> dict[str, Any]:
    """`OPPORTUNITIES` open opportunities of bench-big and its first two open stages."""
    conn = owner_connection(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT id FROM pipeline_stages WHERE tenant_id = %s AND kind = 'open' ORDER BY position, created_at LIMIT 2",
                (tenant,),
            )
            stages = [str(row[0]) for row in cursor.fetchall()]
            cursor.execute(
                "SELECT id FROM opportunities WHERE tenant_id = %s AND status = 'open' ORDER BY id LIMIT %s",
                (tenant, OPPORTUNITIES),
            )
            opportunities = [str(row[0]) for row in cursor.fetchall()]
    finally:
        conn.close()
    if len(stages) != 2 or len(opportunities) < OPPORTUNITIES:
        raise RuntimeError(f"bench-big needs 2 open stages and {OPPORTUNITIES} open opportunities")
    return {"stages": stages, "opportunities": opportunities}


def reset_stages(database: str, tenant: str, fixture: dict[str, Any]) -> None:
    """The benchmark's opportunities back in the first open stage (setup, not a move)."""
    time.sleep(1.0)  # requests still in flight when wrk stopped
    conn = owner_connection(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "UPDATE opportunities SET stage_id = %s WHERE tenant_id = %s AND id = ANY(%s::uuid[]) AND stage_id <> %s",
                (fixture["stages"][0], tenant, fixture["opportunities"], fixture["stages"][0]),
            )
    finally:
        conn.close()


def _global(type_name: str, raw: str) -> str:
    from saas.schema.relay import to_global_id

    return to_global_id(type_name, uuid.UUID(raw))


# --- in-process: statements per request and the SQL of each mutation ----------------------------


def capture(client: InProcess, query: str, variables: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The mutation's answer and the SQL it sent (values inlined by psycopg2), in order."""
    from sqlalchemy import Engine, event

    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append(cursor.mogrify(statement, parameters).decode())

    event.listen(Engine, "before_cursor_execute", listen)
    try:
        data = client.data(query, variables)
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
    return data, seen


def prepare(database: str, redis: str, fixture: dict[str, Any]) -> dict[str, Any]:
    """Statements per request of each mutation (warm, in-process) and the SQL of one of each.

    The statements are captured as text (`DB_PREPARED_WRITES` off; the server prepares them): the
    SQL ceiling runs that text under pgbench, sent as text and prepared by pgbench itself."""
    client = InProcess.create(bench_url(database), redis, DB_PREPARED_WRITES=False)
    try:
        client.login(BIG_SLUG)
        principal = client.engine.runtime.authenticate(f"Bearer {client.token}")
        tenant = str(principal.tenant_id)
        marker = f"wceiling{secrets.token_hex(3)}"
        prepared: dict[str, Any] = {"tenant": tenant}
        for attempt in range(3):
            name = f"{marker}{attempt}"
            data, sql = capture(client, CREATE, {"input": {"name": name}})
            if data["createCustomer"]["userErrors"]:
                raise RuntimeError(f"createCustomer: {data}")
        prepared["create"] = {"statements": client.last_execute_statements, "sql": sql, "name": name}
        # The last of the slice (the load starts at the first), out of the first stage and back, twice.
        opportunity = fixture["opportunities"][-1]
        for stage in [fixture["stages"][1], fixture["stages"][0]] * 2:
            variables = {
                "input": {"id": _global("Opportunity", opportunity), "stageId": _global("PipelineStage", stage)}
            }
            data, sql = capture(client, MOVE, variables)
            if data["moveOpportunity"]["userErrors"]:
                raise RuntimeError(f"moveOpportunity: {data}")
        prepared["move"] = {"statements": client.last_execute_statements, "sql": sql, "opportunity": opportunity}
    finally:
        client.close()
    return prepared


# --- the SQL ceiling ----------------------------------------------------------------------------

_UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"


def _new_ids(database: str, sql: list[str]) -> set[str]:
    """The ids in the statements of rows the mutation created (customer, event, history entry)."""
    found = set(re.findall(_UUID, " ".join(sql)))
    conn = owner_connection(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT id::text FROM customers WHERE id = ANY(%(ids)s::uuid[]) AND name LIKE 'wceiling%%' "
                "UNION SELECT id::text FROM outbox_events WHERE id = ANY(%(ids)s::uuid[]) "
                "UNION SELECT id::text FROM opportunity_stage_changes WHERE id = ANY(%(ids)s::uuid[])",
                {"ids": sorted(found)},
            )
            return {row[0] for row in cursor.fetchall()}
    finally:
        conn.close()


def ceiling_script(
    database: str, statements: list[str], name: str | None, opportunity: str | None, clients: int
) -> str:
    """The captured statements as one pgbench transaction: new rows' ids from `gen_random_uuid()`,
    the customer's name unique per transaction (`:n`), each client its own opportunity."""
    from bench.targets import _without_pgbench_variables

    new_ids = _new_ids(database, statements)
    lines = ["\\set n random(1, 1000000000000)", "BEGIN;"]
    for sql in statements:
        one = _without_pgbench_variables(" ".join(sql.split()))
        for new in new_ids:
            one = one.replace(f"'{new}'::uuid", "gen_random_uuid()")
        # The version check of the captured UPDATE, as a check that holds on every run.
        one = re.sub(r"\bversion=(\d+),", "version=opportunities.version + 1,", one)
        one = re.sub(r" AND opportunities\.version = \d+", "", one)
        if name:
            one = one.replace(name, f"{name}x:n")
        lines.append(one + ";")
    lines.append("COMMIT;")
    script = "\n".join(lines) + "\n"
    if opportunity:
        others = _others(database, opportunity, clients)
        array = "(ARRAY[" + ", ".join(f"'{o}'" for o in others) + "]::uuid[])[:client_id + 1]"
        script = script.replace(f"'{opportunity}'::uuid", array)
    return script


def _others(database: str, opportunity: str, clients: int) -> list[str]:
    """`clients` open opportunities of the same tenant for the pgbench clients (the captured one first)."""
    conn = owner_connection(database)
    try:
        with conn.cursor() as cursor:
            cursor.execute(
                "SELECT o.id::text FROM opportunities o JOIN opportunities c ON c.tenant_id = o.tenant_id "
                "WHERE c.id = %s AND o.status = 'open' AND o.id <> c.id ORDER BY o.id DESC LIMIT %s",
                (opportunity, clients - 1),
            )
            return [opportunity, *[row[0] for row in cursor.fetchall()]]
    finally:
        conn.close()


def pgbench_writes(dsn: str, script: str, clients: int, seconds: float, mode: str = "simple") -> dict[str, float]:
    if shutil.which("pgbench") is None:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as file:
        file.write(script)
    try:
        result = subprocess.run(
            [
                "pgbench",
                "-n",
                "-M",
                mode,
                "-c",
                str(clients),
                "-j",
                "2",
                "-T",
                str(int(seconds)),
                "-f",
                file.name,
                dsn,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PGOPTIONS": session_options()},
        )
    finally:
        Path(file.name).unlink()
    if result.returncode != 0:
        raise RuntimeError(f"pgbench failed: {result.stderr[-2000:]}")
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"latency average = ([\d.]+) ms", result.stdout).group(1))  # type: ignore[union-attr]
    failed = re.search(r"number of failed transactions: (\d+)", result.stdout)
    return {"tps": tps, "latency_ms": latency, "failed": int(failed.group(1)) if failed else 0}


# --- the run --------------------------------------------------------------------------------------


def _load(
    bench_run: Any,
    server: Any,
    tool: str,
    script: str,
    args: argparse.Namespace,
    work_dir: Path,
    seconds: float,
) -> Any:
    """One wrk run of `script` (bench.run's load, with this scenario's Lua script)."""
    path = work_dir / "writes.lua"
    path.write_text(script)
    command = [
        "wrk", f"-t{args.threads}", f"-c{args.connections}", f"-d{seconds:g}s", "--timeout", "10s", "--latency",
        "-s", str(path), f"{server.base}/graphql",
    ]  # fmt: skip
    return bench_run.run_command_load(command, server, tool, args.database, seconds)


def measure_writes(args: argparse.Namespace, redis: str, work_dir: Path, result: dict[str, Any]) -> None:
    from bench import run as bench_run
    from bench.sql_ceiling import app_dsn

    tool = result["load_generator"]
    if tool != "wrk":
        raise RuntimeError("the writes scenario needs wrk (distinct bodies per request come from its Lua script)")
    database_url = bench_url(args.database)
    client = InProcess.create(database_url, redis)
    try:
        client.login(BIG_SLUG)
        tenant = str(client.engine.runtime.authenticate(f"Bearer {client.token}").tenant_id)
    finally:
        client.close()
    fixture = write_fixture(args.database, tenant)
    reset_stages(args.database, tenant, fixture)
    prepared = prepare(args.database, redis, fixture)
    measured: dict[str, Any] = {
        "create": {"statements_per_request": prepared["create"]["statements"]},
        "move": {"statements_per_request": prepared["move"]["statements"]},
    }
    ids = {
        "ours": ([_global("Opportunity", o) for o in fixture["opportunities"]], [_global("PipelineStage", s) for s in fixture["stages"]]),
        "PostGraphile": (fixture["opportunities"], fixture["stages"]),
    }  # fmt: skip

    def settle() -> None:
        # The requests still in flight when wrk stops commit after it: a move committed after the
        # reset would leave its opportunity in the stage the next load moves it into.
        time.sleep(1.0)

    def run_both(label: str, server: Any, token: str) -> None:
        opportunities, stages = ids[label]
        for kind in ("create", "move"):

            def script(kind: str = kind) -> str:  # a new name prefix per load; pass 1 moves into stage 2
                return wrk_script(kind, label, token, tenant, opportunities, [stages[1], stages[0]], args.threads)

            if args.warmup > 0:
                bench_run.log(f"{label}: {kind}, warm-up {args.warmup:g} s")
                _load(bench_run, server, tool, script(), args, work_dir, args.warmup)
                settle()
                reset_stages(args.database, tenant, fixture)
            bench_run.log(f"{label}: {kind}, {args.connections} connections for {args.duration:g} s")
            load = _load(bench_run, server, tool, script(), args, work_dir, args.duration)
            settle()
            reset_stages(args.database, tenant, fixture)
            summary = bench_run.load_summary(load)
            summary["first_bad"] = load.data.get("first_bad")
            measured[kind][label] = summary

    server = bench_run.start_server(database_url, redis, args.workers, work_dir)
    try:
        token = bench_run.login_http(server.port)
        run_both("ours", server, token)
    finally:
        server.stop()
    if args.postgraphile:
        server = bench_run.start_postgraphile(database_url, args.workers, work_dir, mutations=True)
        try:
            run_both("PostGraphile", server, token)
        finally:
            server.stop()

    dsn = app_dsn(args.database)
    for kind in ("create", "move"):
        entry = prepared[kind]
        script = ceiling_script(
            args.database, entry["sql"], entry.get("name"), entry.get("opportunity"), args.connections
        )
        # createCustomer's script puts the unique name's variable inside string literals (the JSON of
        # its audit entry and event), which pgbench's prepared mode cannot bind: sent as text only.
        modes = [("simple", "SQL ceiling")] + ([("prepared", "SQL ceiling (prepared)")] if kind == "move" else [])
        for mode, label in modes:
            bench_run.log(f"SQL ceiling (pgbench -M {mode}): {kind}")
            try:
                measured[kind][label] = pgbench_writes(dsn, script, args.connections, args.duration, mode)
            except RuntimeError as error:
                measured[kind][f"{label} failed"] = str(error)[-500:]
            reset_stages(args.database, tenant, fixture)
        measured[kind]["statements_sql"] = len(entry["sql"])
    result["writes"] = measured


NAMES = {"create": "createCustomer", "move": "moveOpportunity"}


def print_writes(result: dict[str, Any]) -> None:
    print("\nWrites, side by side (requests/s; p50 / p99 ms; ratios within this run)")
    for kind, columns in result["writes"].items():
        ours = columns.get("ours", {})
        rps = ours.get("req_per_s", 0.0)
        print(f"\n{NAMES[kind]}: {columns['statements_per_request']} statement(s) per request (ours, in-process)")
        for label, value in columns.items():
            if not isinstance(value, dict):
                if label.endswith("failed"):
                    print(f"  {label}: {value}")
                continue
            if "tps" in value:
                ratio = rps / value["tps"] if value["tps"] else 0.0
                print(
                    f"  {label:22} {value['tps']:8.0f}/s  avg {value['latency_ms']:7.2f} ms   ours/this {ratio:5.2f}"
                    f"  (failed {value['failed']})"
                )
            else:
                other = value["req_per_s"]
                ratio = rps / other if other else 0.0
                print(
                    f"  {label:22} {other:8.0f}/s  p50 {value['latency_ms']['p50']:7.1f} p99 {value['latency_ms']['p99']:7.1f} ms"
                    f"  errors {value['errors']} of {value['errors_detail'].get('checked', 0)} checked"
                    f"  ours/this {ratio:5.2f}  other CPU {value['cpu_cores'].get('everything else', 0):.2f}"
                )
                if value.get("first_bad"):
                    print(f"    first bad response: {value['first_bad']}")
