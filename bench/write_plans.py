"""How PostgreSQL plans the write path's prepared statements (`saas/db/prepared_writes.py`).

    python -m bench.write_plans --database saas_bench_wplans [--small-tenant bench-49] [--rounds 5]

Writes go into the database (a customer, and for the small tenant an opportunity, per tenant):
run it on a copy of the benchmark's (`createdb -T saas_bench saas_bench_wplans`), never on
`saas_bench` itself.

1. **Capture**: `createCustomer` (a new name, and a name bench-big's leads share, which the
   duplicate lookup finds) and `moveOpportunity` run in-process as each tenant's owner
   (bench-big and a small tenant, which gets a customer and an opportunity first); every
   `PREPARE` and `EXECUTE` the application sends is kept with its values.
2. **Replay**, on one connection as the application role (row-level security on, the
   application's session options), each `EXECUTE` in a transaction of its own after the
   tenant's `set_config`, rolled back (nothing is written):
   - the plan counts (`pg_prepared_statements.generic_plans`, `custom_plans`) after 12
     executions under the session's `plan_cache_mode` (`auto`, PostgreSQL's default; with
     `--mode`, another);
   - `EXPLAIN (ANALYZE, SUMMARY)` of the `EXECUTE` under `force_generic_plan` and under
     `force_custom_plan`: planning and execution time (medians of 20), and whether the two
     plans are the same (node by node, costs and row counts left out);
   - the backend's CPU per transaction (`/proc/<pid>/schedstat`) under `auto`,
     `force_generic_plan` and `force_custom_plan`, alternating, `--rounds` rounds of 200
     transactions each: medians.
"""

from __future__ import annotations

import argparse
import re
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import BIG_SLUG, InProcess, bench_url, redis_url
from bench.sql_ceiling import app_dsn
from bench.writes import CREATE, MOVE, owner_connection

MODES = ("auto", "force_generic_plan", "force_custom_plan")
PLAN_COUNT_EXECUTIONS = 12
EXPLAIN_RUNS = 20
CPU_EXECUTIONS = 200
# A company name many of bench-big's leads have: the duplicate lookup finds one (the plan's LIMIT
# over many index entries, not over none).
SHARED_COMPANY = "Oakfield Builders"

CREATE_OPPORTUNITY = (
    "mutation($input: CreateOpportunityInput!) { createOpportunity(input: $input) { "
    "opportunity { id } userErrors { code message } } }"
)


def capture(database: str, slug: str) -> tuple[str, list[tuple[str, str, str]]]:
    """The tenant's id and the prepared statements its writes sent: (label, PREPARE, EXECUTE)."""
    from sqlalchemy import Engine, event
    from sqlalchemy.dialects.postgresql.psycopg2 import PGDialect_psycopg2

    from saas.schema.relay import from_global_id, to_global_id

    client = InProcess.create(bench_url(database), redis_url())
    token = client.login(slug)
    tenant = str(client.engine.runtime.authenticate(f"Bearer {token}").tenant_id)
    sent: list[str] = []
    recording = [False]

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        if recording[0]:
            sent.append(cursor.mogrify(statement, parameters).decode() if parameters else statement)

    event.listen(Engine, "before_cursor_execute", record)
    prepared: dict[str, str] = {}
    found: list[tuple[str, str, str]] = []
    commit = PGDialect_psycopg2.do_commit
    try:

        def run(label: str | None, query: str, variables: dict[str, Any]) -> dict[str, Any]:
            """The mutation's result; with a label, its statements kept and its transaction
            rolled back instead of committed (so that they can be replayed as they were)."""
            sent.clear()
            recording[0] = True
            if label is not None:
                PGDialect_psycopg2.do_commit = PGDialect_psycopg2.do_rollback  # type: ignore[method-assign]
            try:
                result = client.data(query, variables)
            finally:
                recording[0] = False
                PGDialect_psycopg2.do_commit = commit  # type: ignore[method-assign]
            for message in sent:
                if "EXECUTE saas_" not in message:
                    continue
                end = message.rindex("; EXECUTE saas_") if "; EXECUTE saas_" in message else -2
                start = message.find("PREPARE saas_")
                if start >= 0:
                    prepared[_name(message[start:])] = message[start:end]
                if label is not None:
                    execute = message[end + 2 :]
                    found.append((f"{label}: {_kind(execute, prepared)}", prepared[_name(execute)], execute))
            return result

        created = run(None, CREATE, {"input": {"name": f"plans-{uuid.uuid4().hex[:12]}"}})["createCustomer"]
        assert created["userErrors"] == [], created
        again = run("create", CREATE, {"input": {"name": f"plans-{uuid.uuid4().hex[:12]}"}})["createCustomer"]
        assert again["userErrors"] == [], again
        if slug == BIG_SLUG:
            shared = run("create, a name leads share", CREATE, {"input": {"name": SHARED_COMPANY}})
            assert [e["code"] for e in shared["createCustomer"]["userErrors"]] == ["DUPLICATE"], shared
        conn = owner_connection(database)
        try:
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT id, stage_id FROM opportunities WHERE tenant_id = %s AND status = 'open' LIMIT 1",
                    (tenant,),
                )
                row = cursor.fetchone()
            if row is None:  # a small tenant: an opportunity of its new customer
                made = client.data(
                    CREATE_OPPORTUNITY,
                    {
                        "input": {
                            "customerId": created["customer"]["id"],
                            "name": "Deal",
                            "amount": "1000.00",
                            "currency": "EUR",
                        }
                    },
                )["createOpportunity"]
                assert made["userErrors"] == [], made
                with conn.cursor() as cursor:
                    cursor.execute(
                        "SELECT id, stage_id FROM opportunities WHERE id = %s",
                        (str(from_global_id(made["opportunity"]["id"])[1]),),
                    )
                    row = cursor.fetchone()
            with conn.cursor() as cursor:
                cursor.execute(
                    "SELECT id FROM pipeline_stages WHERE tenant_id = %s AND kind = 'open' AND id <> %s "
                    "ORDER BY position LIMIT 1",
                    (tenant, row[1]),
                )
                target = cursor.fetchone()[0]
        finally:
            conn.close()
        moved = run(
            "move",
            MOVE,
            {
                "input": {
                    "id": to_global_id("Opportunity", uuid.UUID(str(row[0]))),
                    "stageId": to_global_id("PipelineStage", uuid.UUID(str(target))),
                }
            },
        )["moveOpportunity"]
        assert moved["userErrors"] == [], moved
    finally:
        event.remove(Engine, "before_cursor_execute", record)
        client.close()
    return tenant, found


def _kind(execute: str, prepared: dict[str, str]) -> str:
    sql = prepared[_name(execute)]
    if "rider" in sql:
        return "the duplicate lookup with the definitions"
    if "FOR UPDATE" in sql:
        return "the opportunity FOR UPDATE with the stage"
    if "INSERT INTO customers" in sql:
        return "the customer's INSERT"
    if "UPDATE opportunities" in sql:
        return "the UPDATE with its history, audit entry and event"
    if "outbox_events" in sql:
        return "the audit entry and the event"
    return sql[:60]


def _name(prepare_or_execute: str) -> str:
    return re.search(r"(?:PREPARE|EXECUTE) (saas_[0-9a-f]+)", prepare_or_execute).group(1)  # type: ignore[union-attr]


def _backend_cpu(pid: int) -> float:
    return int(Path(f"/proc/{pid}/schedstat").read_text().split()[0]) / 1e9


_NUMBERS = re.compile(r"\s*\((?:cost|actual)[^)]*\)|\s*\(never executed\)")


def _nodes(plan: list[str]) -> list[str]:
    """The plan's nodes (scan, join, sort, limit, …) with their tables and indexes, no conditions."""
    return [line.strip().removeprefix("-> ").strip() for line in plan[:1] + [x for x in plan if "->" in x]]


class Replay:
    """One connection as the application role; every `EXECUTE` in a transaction rolled back."""

    def __init__(self, database: str) -> None:
        import psycopg2

        from saas.db.engine import SESSION_OPTIONS

        self.conn = psycopg2.connect(app_dsn(database), options=SESSION_OPTIONS)
        self.conn.autocommit = True
        self.cursor = self.conn.cursor()
        self.cursor.execute("SELECT pg_backend_pid()")
        self.pid = self.cursor.fetchone()[0]

    def transaction(self, tenant: str, sql: str) -> list[Any]:
        cursor = self.cursor
        cursor.execute("BEGIN")
        try:
            cursor.execute("SELECT set_config('app.tenant_id', %s, true)", (tenant,))
            cursor.execute(sql)
            return cursor.fetchall() if cursor.description else []
        finally:
            cursor.execute("ROLLBACK")

    def prepare(self, prepare: str) -> None:
        self.cursor.execute("DEALLOCATE ALL")
        self.cursor.execute(prepare)

    def mode(self, mode: str) -> None:
        self.cursor.execute(f"SET plan_cache_mode = {mode}")

    def counts(self, name: str) -> tuple[int, int]:
        self.cursor.execute("SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = %s", (name,))
        generic, custom = self.cursor.fetchone()
        return generic, custom

    def explain(self, tenant: str, execute: str) -> tuple[float, float, list[str]]:
        lines = [row[0] for row in self.transaction(tenant, "EXPLAIN (ANALYZE, SUMMARY) " + execute)]
        planning = float(re.search(r"Planning Time: ([\d.]+)", "\n".join(lines)).group(1))  # type: ignore[union-attr]
        execution = float(re.search(r"Execution Time: ([\d.]+)", "\n".join(lines)).group(1))  # type: ignore[union-attr]
        plan = [_NUMBERS.sub("", line) for line in lines if "Time:" not in line and "Memory" not in line]
        return planning, execution, plan

    def cpu(self, tenant: str, execute: str, n: int) -> float:
        """The backend's CPU per transaction (ms) over `n` transactions."""
        for _ in range(20):
            self.transaction(tenant, execute)
        started = _backend_cpu(self.pid)
        for _ in range(n):
            self.transaction(tenant, execute)
        return (_backend_cpu(self.pid) - started) / n * 1000

    def close(self) -> None:
        self.conn.close()


def measure(database: str, tenant: str, prepare: str, execute: str, rounds: int, mode: str) -> dict[str, Any]:
    replay = Replay(database)
    try:
        name = _name(prepare)
        replay.prepare(prepare)
        replay.mode(mode)
        for _ in range(PLAN_COUNT_EXECUTIONS):
            replay.transaction(tenant, execute)
        counts = replay.counts(name)
        explained: dict[str, Any] = {}
        for forced in ("force_generic_plan", "force_custom_plan"):
            replay.mode(forced)
            runs = [replay.explain(tenant, execute) for _ in range(EXPLAIN_RUNS)]
            explained[forced] = {
                "planning_ms": statistics.median(r[0] for r in runs),
                "execution_ms": statistics.median(r[1] for r in runs),
                "shape": runs[-1][2],
            }
        cpu: dict[str, list[float]] = {m: [] for m in MODES}
        for _ in range(rounds):
            for m in MODES:
                replay.mode(m)
                cpu[m].append(replay.cpu(tenant, execute, CPU_EXECUTIONS))
        return {
            "counts": counts,
            "explain": explained,
            "same_plan": _nodes(explained["force_generic_plan"]["shape"])
            == _nodes(explained["force_custom_plan"]["shape"]),
            "cpu_ms": {m: statistics.median(v) for m, v in cpu.items()},
        }
    finally:
        replay.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Plans of the write path's prepared statements.")
    parser.add_argument("--database", required=True, help="a copy of saas_bench (the writes go into it)")
    parser.add_argument("--small-tenant", default="bench-49")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--mode", default="auto", help="plan_cache_mode while the plans are counted")
    parser.add_argument("--plans", action="store_true", help="print each plan")
    args = parser.parse_args(argv)
    if args.database == "saas_bench":
        parser.error("the writes would go into saas_bench: use a copy (createdb -T saas_bench saas_bench_wplans)")
    for slug in (BIG_SLUG, args.small_tenant):
        tenant, statements = capture(args.database, slug)
        print(f"\n{slug} ({tenant})")
        seen = set()
        for label, prepare, execute in statements:
            if not prepare or (label, _name(prepare)) in seen:
                continue
            seen.add((label, _name(prepare)))
            started = time.perf_counter()
            result = measure(args.database, tenant, prepare, execute, args.rounds, args.mode)
            generic, custom = result["explain"]["force_generic_plan"], result["explain"]["force_custom_plan"]
            print(f"  {label}")
            print(
                f"    after {PLAN_COUNT_EXECUTIONS} under {args.mode}: generic_plans {result['counts'][0]}, "
                f"custom_plans {result['counts'][1]}; same plan generic and custom: {result['same_plan']}"
            )
            print(
                f"    generic: planning {generic['planning_ms']:.3f} ms, execution {generic['execution_ms']:.3f} ms;"
                f" custom: planning {custom['planning_ms']:.3f} ms, execution {custom['execution_ms']:.3f} ms"
            )
            print(
                "    backend CPU per transaction (BEGIN, set_config, EXECUTE, ROLLBACK), medians of "
                f"{args.rounds}: "
                + ", ".join(f"{m} {v:.3f} ms" for m, v in result["cpu_ms"].items())
                + f"  [{time.perf_counter() - started:.0f} s]"
            )
            if args.plans or not result["same_plan"]:
                for forced in ("force_generic_plan", "force_custom_plan"):
                    print(f"    {forced}:")
                    for line in result["explain"][forced]["shape"]:
                        print(f"      {line}")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
