"""The read targets side by side in one run: ours, PostGraphile, and PostgreSQL's own ceiling.

    python -m bench.run --scenarios targets --postgraphile [--duration 10] [--json result.json]
                        [--targets 'customers page,leads']   # only these targets (words of their names)

For each target (the customers page, the customer 360, the opportunities list, pipelineReport, claimStatistics and
`PLUGIN_TARGETS`: the leads and tickets lists, the customer 360 with its tickets and a plugin field
(`Customer.vehicles`), and one list of each industry plugin):

- **ours**: `saas serve --workers N` under wrk (the same load as `bench.run`); the customers page
  also with `DB_PREPARED_READS=false` (a second server), so that prepared statements' share shows;
- **PostGraphile**: the equivalent query (`POSTGRAPHILE_QUERIES`), same database, same role and
  row-level security, same token (`bench/postgraphile/server.js`);
- **SQL ceiling**: the SQL statements the request runs, captured in-process (with prepared reads
  off, so the text is the statement itself), values inlined, under `pgbench` from the same number
  of connections as the application role with `app.tenant_id` set per connection: `-M simple`
  (parsed and planned every time, as the text goes) and `-M prepared` (planned once per
  connection, as our reads now go). No Python, no HTTP.

The ratios are computed within this one run; the machine is shared, so only ratios are compared.
`--targets policies,orders` (words of the targets' names, comma-separated) measures only
those targets, e.g. to repeat a few with `--repeat 3`.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import orjson

from bench.common import BIG_SLUG, CUSTOMERS_PAGE, InProcess, bench_url, session_options

OPPORTUNITIES = """query Opportunities($first: Int) { opportunities(first: $first) {
  edges { cursor node { id name amount currency status expectedCloseOn createdAt stage { name probability } customer { id name } } }
  pageInfo { hasNextPage endCursor } } }"""

POSTGRAPHILE_OPPORTUNITIES = """query Opportunities($first: Int) { allOpportunitiesList(first: $first, orderBy: [CREATED_AT_DESC, ID_DESC]) {
  id name amount currency status expectedCloseOn createdAt
  pipelineStageByTenantIdAndStageId { name probability }
  customerByTenantIdAndCustomerId { id name } } }"""

# The customer 360 as PostGraphile serves it: the same parts from the same tables (its timeline
# is the customer's activities, newest 20: PostGraphile has no union of five sources).
POSTGRAPHILE_360 = """query Customer360($tenant: UUID!, $id: UUID!) { customerByTenantIdAndId(tenantId: $tenant, id: $id) {
  id name lifecycleStage lastContactedAt ownerId
  contactsByTenantIdAndCustomerIdList(orderBy: [NAME_ASC, ID_ASC]) { id name email isPrimary }
  activitiesByTenantIdAndCustomerIdList(first: 21, orderBy: [OCCURRED_AT_DESC, ID_DESC]) { id kind occurredAt summary subjectId actorId }
  opportunitiesByTenantIdAndCustomerIdList(orderBy: [CREATED_AT_ASC, ID_ASC]) {
    id name amount currency status expectedCloseOn
    pipelineStageByTenantIdAndStageId { name probability }
    opportunityStageChangesByTenantIdAndOpportunityIdList(orderBy: [CHANGED_AT_ASC, ID_ASC]) {
      fromStageId toStageId changedById changedAt reason } }
  contractsByTenantIdAndCustomerIdList(orderBy: [STARTS_ON_ASC, ID_ASC]) { id number amount startsOn endsOn }
  ordersByTenantIdAndCustomerIdList(orderBy: [CREATED_AT_ASC, ID_ASC]) { id total createdAt
    orderLinesByTenantIdAndOrderIdList(orderBy: [POSITION_ASC]) { position quantity unitPrice amount
      productByTenantIdAndProductId { sku name } } }
  paymentPlansByTenantIdAndCustomerIdList { id total
    paymentInstallmentsByTenantIdAndPlanIdList(orderBy: [POSITION_ASC]) { position dueOn amount receivedAmount } }
  invoicesByTenantIdAndCustomerIdList { id status amount number requestedAt }
  tasksByTenantIdAndCustomerIdList { id title dueAt completedAt assigneeId }
} }"""

# The read target beyond the sales lists: leads, tickets, the 360 with tickets and a plugin
# field, one list per industry plugin (bench-big has them all enabled, `bench/seed.py`). Each is
# (name, ours, PostGraphile's equivalent over the same tables, as the same role under RLS); pages of 50.
PLUGIN_TARGETS: tuple[tuple[str, str, str], ...] = (
    (
        "leads list",
        """query Leads($first: Int) { leads(first: $first) {
  edges { cursor node { id name company email status createdAt owner { id } channel { name } } }
  pageInfo { hasNextPage endCursor } } }""",
        """query Leads($first: Int) { allLeadsList(first: $first, orderBy: [CREATED_AT_DESC, ID_DESC]) {
  id name company email status createdAt ownerId channelByTenantIdAndChannelId { name } } }""",
    ),
    (
        "tickets list",
        """query Tickets($first: Int) { tickets(first: $first) {
  edges { cursor node { id number subject status priority createdAt customer { id name } } }
  pageInfo { hasNextPage endCursor } } }""",
        """query Tickets($first: Int) { allTicketsList(first: $first, orderBy: [CREATED_AT_DESC, ID_DESC]) {
  id number subject status priority createdAt customerByTenantIdAndCustomerId { id name } } }""",
    ),
    (
        "vehicles list (automotive)",
        """query Vehicles($first: Int) { vehicles(first: $first) {
  edges { cursor node { id vin make model year mileage customer { id name } } }
  pageInfo { hasNextPage endCursor } } }""",
        """query Vehicles($first: Int) { allAutoVehiclesList(first: $first, orderBy: [CREATED_AT_DESC, ID_DESC]) {
  id vin make model year mileage customerByTenantIdAndCustomerId { id name } } }""",
    ),
    (
        "instruments list (finance)",
        """query Instruments($first: Int) { instruments(first: $first) {
  edges { cursor node { id symbol name assetClass currency lastPrice previousClose } }
  pageInfo { hasNextPage endCursor } } }""",
        """query Instruments($first: Int) { allFinInstrumentsList(first: $first, orderBy: [SYMBOL_ASC]) {
  id symbol name assetClass currency lastPrice previousClose } }""",
    ),
    (
        "policies list (insurance)",
        """query Policies($first: Int) { policies(first: $first) {
  edges { cursor node { id number line status premium currency startsOn endsOn } }
  pageInfo { hasNextPage endCursor } } }""",
        """query Policies($first: Int) { allInsPoliciesList(first: $first, orderBy: [CREATED_AT_DESC, ID_DESC]) {
  id number line status premium currency startsOn endsOn } }""",
    ),
    (
        "orders list (manufacturing)",
        """query Orders($first: Int) { orders(first: $first) {
  edges { cursor node { id status total currency createdAt lines { productId quantity unitPrice lineTotal } } }
  pageInfo { hasNextPage endCursor } } }""",
        """query Orders($first: Int) { allMfgOrdersList(first: $first, orderBy: [CREATED_AT_DESC, ID_DESC]) {
  id status total currency createdAt
  mfgOrderLinesByTenantIdAndOrderIdList(orderBy: [POSITION_ASC]) { productId quantity unitPrice lineTotal } } }""",
    ),
)

# The customer 360 with its tickets and the field a plugin adds (`Customer.vehicles`), ours and
# PostGraphile's (the sales 360's parts, then the same two lists from the same tables).
CUSTOMER_360_PLUGIN_PARTS = """
    tickets(first: 20) { edges { node { id number subject status priority createdAt } } pageInfo { hasNextPage } }
    vehicles { id vin make model year mileage serviceRecords { performedOn kind mileage } }"""
POSTGRAPHILE_360_PLUGIN_PARTS = """
  ticketsByTenantIdAndCustomerIdList(first: 21, orderBy: [CREATED_AT_DESC, ID_DESC]) { id number subject status priority createdAt }
  autoVehiclesByTenantIdAndCustomerIdList(orderBy: [CREATED_AT_DESC, ID_DESC]) { id vin make model year mileage
    autoServiceRecordsByTenantIdAndVehicleIdList(orderBy: [PERFORMED_ON_DESC, ID_ASC]) { performedOn kind mileage } }"""


def _with_parts(query: str, parts: str) -> str:
    """The query with `parts` added at the end of its root field's selection."""
    head, tail = query.rstrip().rsplit("}", 2)[0], "} }"
    return head + parts + "\n" + tail


POSTGRAPHILE_PIPELINE = """query PipelineReport { allPipelineStagesList(orderBy: [POSITION_ASC]) {
  name kind probability
  opportunitiesByTenantIdAndStageId { totalCount } } }"""


# The insurance plugin's report: claims and exposure by line and year over the seeded policies'
# period (from given: one statement). PostGraphile has no such aggregate: a count of the claims.
CLAIM_STATISTICS = """query ClaimStatistics($groupBy: [InsStatisticsDimension!]!, $filter: InsStatisticsFilterInput) {
  claimStatistics(groupBy: $groupBy, filter: $filter) {
    key { line cause region year } exposureYears claimCount frequency severity incurred earnedPremium lossRatio } }"""
CLAIM_STATISTICS_VARIABLES = {"groupBy": ["LINE", "YEAR"], "filter": {"from": "2024-01-01", "to": "2026-11-30"}}
POSTGRAPHILE_CLAIMS = """query Claims { allInsClaims { totalCount } }"""


def capture_statements(client: InProcess, query: str, variables: dict[str, Any]) -> list[str]:
    """The SQL the request runs (values inlined by psycopg2), the tenant setting left out."""
    from sqlalchemy import Engine, event

    seen: list[str] = []

    def listen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append(cursor.mogrify(statement, parameters).decode())

    event.listen(Engine, "before_cursor_execute", listen)
    async_connection = _async_connection_class()
    if async_connection is not None:  # compiled reads on the event loop (`saas/db/async_reads.py`)
        original = async_connection.fetch_one

        async def fetch_one(self: Any, message: str, values: dict[str, Any]) -> Any:
            seen.append(self.raw.cursor().mogrify(message, values).decode())
            return await original(self, message, values)

        async_connection.fetch_one = fetch_one
    try:
        client.data(query, variables)
    finally:
        event.remove(Engine, "before_cursor_execute", listen)
        if async_connection is not None:
            async_connection.fetch_one = original
    statements = []
    for text in seen:
        parts = [p for p in re.split(r";\s*(?=SELECT|WITH)", text) if "set_config('app.tenant_id'" not in p]
        statements.extend(p.strip() for p in parts if p.strip())
    return statements


def _async_connection_class() -> Any:
    try:
        from saas.db.async_reads import AsyncLink
    except ImportError:  # (older commits read through SQLAlchemy only)
        return None
    return AsyncLink


_LITERAL = re.compile(r"(?<![A-Za-z&])'((?:[^']|'')*)'")


def _without_pgbench_variables(sql: str) -> str:
    """pgbench takes every `:name` for a variable (`-M prepared` makes it a parameter), also in a
    string literal such as `'HH24:MI:SS'`: such literals are written as Unicode-escaped ones of the
    same value (`U&'HH24\\003AMI\\003ASS'`), which PostgreSQL reads as the same constant."""

    def escape(match: re.Match[str]) -> str:
        body = match.group(1)
        if not re.search(r":[A-Za-z_]", body):
            return match.group(0)
        return "U&'" + body.replace("\\", "\\\\").replace(":", "\\003A") + "'"

    return _LITERAL.sub(escape, sql)


def pgbench(dsn: str, tenant: str, statements: list[str], clients: int, seconds: float, mode: str) -> dict[str, float]:
    if shutil.which("pgbench") is None:
        raise RuntimeError("pgbench is not installed (Debian: postgresql-client)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as script:
        for statement in statements:
            script.write(_without_pgbench_variables(" ".join(statement.split())) + ";\n")
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
                script.name,
                dsn,
            ],
            capture_output=True,
            text=True,
            env={**os.environ, "PGOPTIONS": f"{session_options()} -c app.tenant_id={tenant}"},
        )
    finally:
        Path(script.name).unlink()
    if result.returncode != 0:
        raise RuntimeError(f"pgbench failed: {result.stderr[-2000:]}")
    tps = float(re.search(r"tps = ([\d.]+)", result.stdout).group(1))  # type: ignore[union-attr]
    latency = float(re.search(r"latency average = ([\d.]+) ms", result.stdout).group(1))  # type: ignore[union-attr]
    return {"tps": tps, "latency_ms": latency}


def _targets(client: InProcess, tenant: str) -> list[dict[str, Any]]:
    from bench.run import POSTGRAPHILE_PAGE
    from bench.sales import CUSTOMER_360, KEY_ACCOUNT_ID, PIPELINE_REPORT

    key = client.data(KEY_ACCOUNT_ID)["customers"]["edges"][0]["node"]["id"]
    from saas.schema.relay import from_global_id

    raw_key = str(from_global_id(key)[1])
    return [
        {
            "name": "customers page",
            "query": CUSTOMERS_PAGE,
            "variables": {"first": 50},
            "postgraphile": (POSTGRAPHILE_PAGE, {"first": 50}),
        },
        {
            "name": "customer 360",
            "query": CUSTOMER_360,
            "variables": {"id": key},
            "postgraphile": (POSTGRAPHILE_360, {"tenant": tenant, "id": raw_key}),
        },
        {
            "name": "opportunities list",
            "query": OPPORTUNITIES,
            "variables": {"first": 50},
            "postgraphile": (POSTGRAPHILE_OPPORTUNITIES, {"first": 50}),
        },
        {
            "name": "pipelineReport",
            "query": PIPELINE_REPORT,
            "variables": {},
            "postgraphile": (POSTGRAPHILE_PIPELINE, {}),
        },
        {
            "name": "claimStatistics",
            "query": CLAIM_STATISTICS,
            "variables": CLAIM_STATISTICS_VARIABLES,
            "postgraphile": (POSTGRAPHILE_CLAIMS, {}),
        },
        {
            "name": "customer 360 with tickets and vehicles",
            "query": _with_parts(CUSTOMER_360, CUSTOMER_360_PLUGIN_PARTS),
            "variables": {"id": key},
            "postgraphile": (
                _with_parts(POSTGRAPHILE_360, POSTGRAPHILE_360_PLUGIN_PARTS),
                {"tenant": tenant, "id": raw_key},
            ),
        },
        *(
            {"name": name, "query": ours, "variables": {"first": 50}, "postgraphile": (theirs, {"first": 50})}
            for name, ours, theirs in PLUGIN_TARGETS
        ),
    ]


def prepare(database: str, redis: str, only: tuple[str, ...] = ()) -> tuple[list[dict[str, Any]], str]:
    """Each target's statements per request (in-process, warm) and its SQL, with the tenant id;
    `only`: the targets whose names contain one of these words (`bench.run --targets`), else all."""
    os.environ["DB_PREPARED_READS"] = "false"  # capture the statements' text
    try:
        client = InProcess.create(bench_url(database), redis)
    finally:
        del os.environ["DB_PREPARED_READS"]
    try:
        client.login(BIG_SLUG)
        principal = client.engine.runtime.authenticate(f"Bearer {client.token}")
        tenant = str(principal.tenant_id)
        targets = [t for t in _targets(client, tenant) if not only or any(w in t["name"].lower() for w in only)]
        if not targets:
            raise SystemExit(f"no target named {', '.join(only)}")
        for target in targets:
            client.data(target["query"], target["variables"])
            client.data(target["query"], target["variables"])
            target["statements"] = client.last_execute_statements
            target["sql"] = capture_statements(client, target["query"], target["variables"])
    finally:
        client.close()
    return targets, tenant


def measure_targets(args: argparse.Namespace, redis: str, work_dir: Path, result: dict[str, Any]) -> None:
    from bench import run as bench_run
    from bench.sql_ceiling import app_dsn

    tool = result["load_generator"]
    targets, tenant = prepare(args.database, redis, getattr(args, "targets", ()))
    database_url = bench_url(args.database)
    dsn = app_dsn(args.database)
    measured: dict[str, Any] = {t["name"]: {"statements_per_request": t["statements"]} for t in targets}

    for label, env in (("ours", {}), ("ours, DB_PREPARED_READS=false", {"DB_PREPARED_READS": "false"})):
        os.environ.update(env)
        try:
            server = bench_run.start_server(database_url, redis, args.workers, work_dir)
        finally:
            for name in env:
                del os.environ[name]
        try:
            token = bench_run.login_http(server.port)
            for target in targets if not env else targets[:1]:
                body = orjson.dumps({"query": target["query"], "variables": target["variables"]})
                bench_run.check_answer(server.port, body, token, target["name"])
                bench_run.log(f"{label}: {target['name']}")
                measured[target["name"]][label] = bench_run.measure(server, tool, token, body, args, work_dir)
        finally:
            server.stop()

    if args.postgraphile:
        server = bench_run.start_postgraphile(database_url, args.workers, work_dir)
        try:
            for target in targets:
                query, variables = target["postgraphile"]
                body = orjson.dumps({"query": query, "variables": variables})
                bench_run.check_answer(server.port, body, token, f"PostGraphile {target['name']}")
                bench_run.log(f"PostGraphile: {target['name']}")
                measured[target["name"]]["PostGraphile"] = bench_run.measure(server, tool, token, body, args, work_dir)
        finally:
            server.stop()

    for target in targets:
        for mode in ("simple", "prepared"):
            bench_run.log(f"SQL ceiling ({mode}): {target['name']}")
            try:
                measured[target["name"]][f"SQL ceiling ({mode})"] = pgbench(
                    dsn, tenant, target["sql"], args.connections, args.duration, mode
                )
            except RuntimeError as error:
                measured[target["name"]][f"SQL ceiling ({mode}) failed"] = str(error)[-500:]
        measured[target["name"]]["sql_characters"] = sum(len(s) for s in target["sql"])
    result["targets"] = measured


def print_targets(result: dict[str, Any]) -> None:
    from bench import run as bench_run

    print("\nTargets, side by side (requests/s; p99 ms; ratios within this run)")
    for name, columns in result["targets"].items():
        ours = columns.get("ours", {})
        rps = ours.get("req_per_s", 0.0)
        p99 = ours.get("latency_ms", {}).get("p99", 0.0)
        print(
            f"\n{name}: {columns['statements_per_request']} statement(s) per request, {columns['sql_characters']} characters of SQL"
        )
        for label, value in columns.items():
            if not isinstance(value, dict):
                continue
            if "tps" in value:
                ratio = rps / value["tps"] if value["tps"] else 0.0
                print(f"  {label:34} {value['tps']:8.0f}/s  avg {value['latency_ms']:7.2f} ms   ours/this {ratio:5.2f}")
            else:
                other = value["req_per_s"]
                ratio = rps / other if other else 0.0
                p99_ratio = p99 / value["latency_ms"]["p99"] if value["latency_ms"]["p99"] else 0.0
                print(
                    f"  {label:34} {other:8.0f}/s  p50 {value['latency_ms']['p50']:7.1f} p99 {value['latency_ms']['p99']:7.1f} ms"
                    f"  errors {value['errors']}  ours/this {ratio:5.2f}  p99 ours/this {p99_ratio:4.2f}"
                    f"  other CPU {value['cpu_cores'].get('everything else', 0):.2f}"
                )
                print(f"  {'':34} {bench_run.split_line(value)}")
