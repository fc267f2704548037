"""How PostgreSQL plans the prepared compiled reads: backend CPU per `EXECUTE` by plan cache mode.

    python -m bench.plans [--targets 'customers,leads'] [--tenants bench-big,bench-49]
                          [--executions 100] [--rounds 5] [--commit <rev>] [--json out.json]

For each read target of `bench/targets.py` and the filtered and searched variants of the lists
(`VARIANTS`), on each tenant: the request runs in-process (prepared reads on) and its compiled
statement is captured as `saas/db/reads.py` hands it to `fetch_prepared`. On one connection as the
application role with `app.tenant_id` set (row-level security on), the statement is then prepared
as the server prepares it and executed, for each mode alternating round by round:

- **server**: the `plan_cache_mode` the server runs it under (`saas.db.prepared.plan_cache_mode`;
  `auto` for a commit without it),
- **auto**, **generic** (`force_generic_plan`) and **custom** (`force_custom_plan`),

and the backend's own CPU time (`/proc/<pid>/schedstat`) is read around each round: the median
milliseconds per execution. Also: the plan counts after 30 executions under the server's mode on a
fresh statement (`pg_prepared_statements`: `generic_plans`/`custom_plans`), the planning time of a
custom plan and the execution time of each plan (`EXPLAIN (ANALYZE)`), and whether every mode
answered the same bytes. `--commit`: the statements and rule of that commit's `saas` (the
benchmark from the work tree), e.g. the page sizes bound as parameters before they were literals.

A tenant other than bench-big has no leads, tickets or plugin rows; its lists answer empty pages,
and the targets whose plugin it has not enabled are left out. The generic plan is one plan for
every tenant: a tenant's figures are those of the plan made on the connection for that tenant's
first execution, which a generic plan does not depend on.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

from bench.common import BIG_SLUG, DEFAULT_DATABASE, InProcess, bench_url, redis_url, session_options

MODES = {"auto": "auto", "generic": "force_generic_plan", "custom": "force_custom_plan"}

# The lists' filtered and searched variants: (name, the target whose query it narrows, the root
# field, its filter input type, the filter; "$owner", "$customer", "$stage" are replaced by ids the
# tenant's first rows name).
VARIANTS: tuple[tuple[str, str, str, str, dict[str, Any]], ...] = (
    ("customers search", "customers page", "customers", "CustomerFilterInput", {"search": "Alder"}),
    ("customers search, rare", "customers page", "customers", "CustomerFilterInput", {"search": "Alder Academy 102"}),
    ("customers by stage", "customers page", "customers", "CustomerFilterInput", {"lifecycleStage": "CUSTOMER"}),
    ("customers by owner", "customers page", "customers", "CustomerFilterInput", {"ownerId": "$owner"}),
    ("leads by status", "leads list", "leads", "LeadFilterInput", {"status": "POOL"}),
    ("leads search", "leads list", "leads", "LeadFilterInput", {"search": "a"}),
    ("leads search, none", "leads list", "leads", "LeadFilterInput", {"search": "zqxj"}),
    ("leads by owner", "leads list", "leads", "LeadFilterInput", {"ownerId": "$owner"}),
    ("opportunities by status", "opportunities list", "opportunities", "OpportunityFilterInput", {"status": "WON"}),
    (
        "opportunities by customer",
        "opportunities list",
        "opportunities",
        "OpportunityFilterInput",
        {"customerId": "$customer"},
    ),
    ("opportunities by owner", "opportunities list", "opportunities", "OpportunityFilterInput", {"ownerId": "$owner"}),
    ("tickets by status", "tickets list", "tickets", "TicketFilterInput", {"status": "NEW"}),
    ("tickets search", "tickets list", "tickets", "TicketFilterInput", {"search": "problem"}),
    ("tickets search, rare", "tickets list", "tickets", "TicketFilterInput", {"search": "Login problem (12)"}),
    ("tickets search, none", "tickets list", "tickets", "TicketFilterInput", {"search": "zqxj"}),
    ("tickets by customer", "tickets list", "tickets", "TicketFilterInput", {"customerId": "$customer"}),
    ("tickets by assignee", "tickets list", "tickets", "TicketFilterInput", {"assigneeId": "$owner"}),
)

IDS = """{ customers(first: 1) { edges { node { id owner { id } } } } }"""


def _variant_query(query: str, field: str, input_type: str) -> str:
    """`query` with `filter: $filter` on its root field `field` and the variable declared."""
    head, brace, rest = query.partition("{")
    head = head.replace("($first: Int", f"($filter: {input_type}, $first: Int", 1)
    return head + brace + rest.replace(f"{field}(first: $first", f"{field}(filter: $filter, first: $first", 1)


def _ids(client: InProcess) -> dict[str, Any]:
    node = client.data(IDS)["customers"]["edges"][0]["node"]
    return {"$customer": node["id"], "$owner": (node.get("owner") or {}).get("id")}


def _capture(client: InProcess, query: str, variables: dict[str, Any]) -> tuple[str, dict[str, Any]] | None:
    """The compiled statement (psycopg2 placeholders) and values of the request's last prepared read."""
    import saas.db.reads as reads

    seen: list[tuple[str, dict[str, Any]]] = []
    original = reads.fetch_prepared

    async def capturing(conn: Any, prefix: str, sql: str, values: dict[str, Any]) -> Any:
        seen.append((sql, values))
        return await original(conn, prefix, sql, values)

    reads.fetch_prepared = capturing
    try:
        client.data(query, variables)
    finally:
        reads.fetch_prepared = original
    return seen[-1] if seen else None


def capture(database: str, tenants: list[str], only: tuple[str, ...]) -> list[dict[str, Any]]:
    """Each target's and variant's statement on each tenant."""
    from bench import targets as bench_targets

    client = InProcess.create(bench_url(database), redis_url())
    captured: list[dict[str, Any]] = []
    try:
        for slug in tenants:
            client.login(slug)
            principal = client.engine.runtime.authenticate(f"Bearer {client.token}")
            tenant = str(principal.tenant_id)
            targets = {t["name"]: t for t in bench_targets._targets(client, tenant)}
            ids = _ids(client)
            runs: list[tuple[str, str, dict[str, Any]]] = [(n, t["query"], t["variables"]) for n, t in targets.items()]
            for name, base, field, input_type, flt in VARIANTS:
                if base in targets and all(v not in ids or ids[v] for v in flt.values()):
                    values = {k: ids.get(v, v) if isinstance(v, str) else v for k, v in flt.items()}
                    query = _variant_query(targets[base]["query"], field, input_type)
                    runs.append((name, query, {**targets[base]["variables"], "filter": values}))
            for name, query, variables in runs:
                if only and not any(word in name.lower() for word in only):
                    continue
                try:
                    found = _capture(client, query, variables)
                except RuntimeError as error:  # e.g. a plugin the tenant has not enabled
                    print(f"  {slug} {name}: skipped ({str(error)[:80]})", file=sys.stderr)
                    continue
                if found is None:
                    print(f"  {slug} {name}: no prepared compiled read, skipped", file=sys.stderr)
                    continue
                captured.append(
                    {"tenant_slug": slug, "tenant": tenant, "name": name, "sql": found[0], "values": found[1]}
                )
    finally:
        client.close()
    return captured


def _server_mode(sql: str) -> str:
    from saas.db import prepared

    rule = getattr(prepared, "plan_cache_mode", None)
    return rule(sql) if rule is not None else "auto"


def _messages(cursor: Any, sql: str, values: dict[str, Any]) -> tuple[str, str]:
    """`PREPARE` and `EXECUTE` of the statement as `fetch_prepared` sends them, values inlined."""
    from saas.db import prepared
    from saas.db.prepared import sql_type, statement_of

    statement = statement_of(sql)
    types = [sql_type(values.get(name)) for name in statement.names]
    # The query as the server prepares it (`read_query`; a commit without it: the statement itself).
    query = getattr(prepared, "read_query", lambda body: body)(statement.body)
    prepare = f"PREPARE p({', '.join(types)}) AS {query}" if types else f"PREPARE p AS {query}"
    execute = f"EXECUTE p({statement.execute_args})" if statement.names else "EXECUTE p"
    return cursor.mogrify(prepare, {}).decode(), cursor.mogrify(execute, values).decode()


def _cpu(pid: int) -> float:
    from bench.sql_cpu import _backend_cpu_seconds

    return _backend_cpu_seconds(pid)


def measure(dsn: str, item: dict[str, Any], executions: int, rounds: int) -> dict[str, Any]:
    import psycopg2

    server = _server_mode(item["sql"])
    conn = psycopg2.connect(dsn, options=session_options())
    conn.autocommit = True
    try:
        cursor = conn.cursor()
        cursor.execute("SELECT set_config('app.tenant_id', %s, false), pg_backend_pid()", (item["tenant"],))
        pid = cursor.fetchone()[1]
        prepare, execute = _messages(cursor, item["sql"], item["values"])
        # The plan counts under the server's mode, from a fresh statement.
        cursor.execute(f"SET plan_cache_mode = {server}")
        cursor.execute(prepare)
        for _ in range(30):
            cursor.execute(execute)
            cursor.fetchall()
        cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'p'")
        generic_plans, custom_plans = cursor.fetchone()
        modes = {"server": server, **MODES}
        answers, per_mode = {}, {m: [] for m in modes}
        for mode, setting in modes.items():
            cursor.execute(f"SET plan_cache_mode = {setting}")
            for _ in range(5):
                cursor.execute(execute)
                answers[mode] = cursor.fetchall()
        for round_number in range(rounds):
            order = list(modes) if round_number % 2 == 0 else list(reversed(modes))
            for mode in order:
                cursor.execute(f"SET plan_cache_mode = {modes[mode]}")
                before = _cpu(pid)
                for _ in range(executions):
                    cursor.execute(execute)
                    cursor.fetchall()
                per_mode[mode].append((_cpu(pid) - before) * 1000 / executions)
        explained = {}
        for mode in ("generic", "custom"):
            cursor.execute(f"SET plan_cache_mode = {MODES[mode]}")
            cursor.execute(f"EXPLAIN (ANALYZE, SUMMARY) {execute}")
            lines = [row[0] for row in cursor.fetchall()]
            explained[mode] = {
                line.split(":")[0].strip(): float(line.split(":")[1].split()[0])
                for line in lines
                if line.startswith(("Planning Time", "Execution Time"))
            }
    finally:
        conn.close()
    same = all(a == answers["auto"] for a in answers.values())
    return {
        "tenant": item["tenant_slug"],
        "name": item["name"],
        "server_mode": server,
        "cpu_ms": {m: round(statistics.median(v), 3) for m, v in per_mode.items()},
        "generic_plans": generic_plans,
        "custom_plans": custom_plans,
        "custom_planning_ms": explained["custom"].get("Planning Time"),
        "generic_execution_ms": explained["generic"].get("Execution Time"),
        "custom_execution_ms": explained["custom"].get("Execution Time"),
        "same_answer": same,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Backend CPU per EXECUTE of the compiled reads, by plan cache mode.")
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--targets", default="", help="words of the targets' and variants' names, comma-separated")
    parser.add_argument("--tenants", default=f"{BIG_SLUG},bench-49", help="tenant slugs, comma-separated")
    parser.add_argument("--executions", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--commit", help="the statements and rule of this commit's saas code")
    parser.add_argument("--json", help="write the results to this file")
    args = parser.parse_args(argv)
    if args.commit:
        from bench.common import run_at_commit

        run_at_commit(args.commit, "bench.plans", argv)
    from bench.sql_ceiling import app_dsn

    only = tuple(w.strip().lower() for w in args.targets.split(",") if w.strip())
    tenants = [t.strip() for t in args.tenants.split(",") if t.strip()]
    items = capture(args.database, tenants, only)
    dsn = app_dsn(args.database)
    print(
        f"backend CPU ms per EXECUTE (median of {args.rounds} rounds of {args.executions}); "
        "plans after 30 EXECUTEs under the server's mode; custom planning and each plan's execution (EXPLAIN ANALYZE)"
    )
    print(
        f"{'tenant':10} {'statement':42} {'server':>7} {'auto':>7} {'generic':>7} {'custom':>7}"
        f"  {'mode':8} {'g/c plans':>9} {'plan':>6} {'g exec':>7} {'c exec':>7}"
    )
    results = []
    for item in items:
        r = measure(dsn, item, args.executions, args.rounds)
        results.append(r)
        cpu = r["cpu_ms"]
        mode = {"force_generic_plan": "generic", "force_custom_plan": "custom"}.get(r["server_mode"], r["server_mode"])
        print(
            f"{r['tenant']:10} {r['name'][:42]:42} {cpu['server']:7.3f} {cpu['auto']:7.3f} {cpu['generic']:7.3f}"
            f" {cpu['custom']:7.3f}  {mode:8} {r['generic_plans']:>4}/{r['custom_plans']:<4}"
            f" {r['custom_planning_ms'] or 0:6.2f} {r['generic_execution_ms'] or 0:7.2f} {r['custom_execution_ms'] or 0:7.2f}"
            + ("" if r["same_answer"] else "  DIFFERENT ANSWERS"),
            flush=True,
        )
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
