"""Executions per second of a compiled read's prepared statement from concurrent clients, sent as
the server sends it, in two forms: the statement itself and as `saas.db.prepared.read_query`
prepares it (`SELECT s.* FROM (…) AS s`).

    python -m bench.prepared_load [--target 'customer 360'] [--clients 8] [--seconds 8] [--rounds 6]

The target's statement is captured in-process on bench-big (`bench/plans.py` `capture`). Each
client process connects as the application role with the read links' `plan_cache_mode`, prepares
the statement once in the round's form and sends `set_config` of the tenant and `EXECUTE` in one
simple-query message until the round's time is up: PostgreSQL's work per request as on the read
links, without the server's Python. Rounds alternate the two forms (ABBA); each prints the
executions per second over all clients. The clients share the machine with PostgreSQL, so compare
the two forms within one run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import statistics
import sys
import time
from typing import Any

from bench.common import BIG_SLUG, DEFAULT_DATABASE, session_options

FORMS = ("statement", "subquery")


def _client(job: tuple[str, dict[str, Any], str, float, float]) -> int:
    import psycopg2

    from saas.db.async_reads import LINK_PLAN_CACHE_MODE
    from saas.db.prepared import read_query, sql_type, statement_of

    dsn, item, form, start, seconds = job
    conn = psycopg2.connect(dsn, options=f"{session_options()} -c plan_cache_mode={LINK_PLAN_CACHE_MODE}")
    conn.autocommit = True
    try:
        cursor = conn.cursor()
        statement = statement_of(item["sql"])
        types = [sql_type(item["values"].get(name)) for name in statement.names]
        query = read_query(statement.body) if form == "subquery" else statement.body
        cursor.execute(cursor.mogrify(f"PREPARE q({', '.join(types)}) AS {query}", {}).decode())
        message = cursor.mogrify(
            f"SELECT set_config('app.tenant_id', %(tenant_id)s, true); EXECUTE q({statement.execute_args})",
            item["values"],
        ).decode()
        cursor.execute(message)  # the generic plan made before the round starts
        cursor.fetchall()
        while time.time() < start:
            time.sleep(0.005)
        done, end = 0, start + seconds
        while time.time() < end:
            cursor.execute(message)
            cursor.fetchall()
            done += 1
        return done
    finally:
        conn.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Concurrent EXECUTEs of a compiled read, as a statement and as a subquery."
    )
    parser.add_argument("--database", default=DEFAULT_DATABASE)
    parser.add_argument("--target", default="customer 360", help="a read target's name (bench/targets.py)")
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=8.0)
    parser.add_argument("--rounds", type=int, default=6, help="rounds of each form")
    parser.add_argument(
        "--start-delay", type=float, default=10.0, help="seconds for the clients to connect and prepare"
    )
    args = parser.parse_args(argv)
    from bench.plans import capture
    from bench.sql_ceiling import app_dsn

    items = [i for i in capture(args.database, [BIG_SLUG], (args.target.lower(),)) if i["name"] == args.target]
    if not items:
        print(f"no compiled read named {args.target!r}", file=sys.stderr)
        return 1
    item = {"sql": items[0]["sql"], "values": items[0]["values"]}
    dsn = app_dsn(args.database)
    results: dict[str, list[float]] = {form: [] for form in FORMS}
    with multiprocessing.Pool(args.clients) as pool:
        for round_number in range(args.rounds * 2):
            form = FORMS[(round_number + round_number // 2) % 2]  # ABBA
            start = time.time() + args.start_delay
            total = sum(pool.map(_client, [(dsn, item, form, start, args.seconds)] * args.clients))
            results[form].append(total / args.seconds)
            print(f"{form:10} {total / args.seconds:8.1f} executions/s", flush=True)
    for form, rates in results.items():
        print(f"{form:10} median {statistics.median(rates):8.1f}  ({', '.join(f'{r:.1f}' for r in rates)})")
    print(json.dumps({form: statistics.median(rates) for form, rates in results.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
