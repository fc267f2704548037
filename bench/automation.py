"""Automation rules' cost in the outbox dispatch: events per second with 0 and with N matching rules.

    python -m bench.automation [--events 500] [--rules 5] [--json FILE]

On a fresh database (on the server of `DATABASE_URL`, default the local PostgreSQL), migrated
and dropped at the end: a tenant gets `--events` customers (one `customer.created` each, through
the customer service), then its outbox is dispatched in batches of 100 (`dispatch_pending`, as
the `events.dispatch` job runs it) and timed; the same again after `--rules` rules are created
whose conditions match every event (a tier comparison and a name `contains`), each adding a
tag through the customer service (a read, an update, its audit entry and its own event). The
events the rules cause are dispatched too (each `customer.updated`, on which no rule triggers).
Printed: events per second of dispatch, and the rule runs per second, as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import sys
import time
import uuid
from typing import Any

DEFAULT_SERVER_URL = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _customers(runtime: Any, tenant_id: uuid.UUID, principal: Any, count: int) -> None:
    from saas.customers.service import create_customer
    from saas.tenancy.session import tenant_session

    with tenant_session(runtime.engine, tenant_id) as session:
        for n in range(count):
            create_customer(
                session,
                principal,
                {"name": f"Bench {n} {secrets.token_hex(3)}", "tier": "gold", "allow_duplicate": True},
            )


def _dispatch_all(runtime: Any, tenant_id: uuid.UUID) -> tuple[int, float]:
    from saas.events.dispatch import dispatch_pending
    from saas.tenancy.session import tenant_session

    events, started = 0, time.perf_counter()
    while True:
        with tenant_session(runtime.engine, tenant_id) as session:
            result = dispatch_pending(session, tenant_id, runtime.plugins)
        events += result.events
        if result.events == 0:
            return events, time.perf_counter() - started


def run(args: argparse.Namespace) -> dict[str, Any]:
    os.environ.setdefault("DATABASE_URL", DEFAULT_SERVER_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    from saas.accounts.service import create_tenant
    from saas.auth.permissions import ALL_PERMISSIONS, Role
    from saas.auth.principal import Principal
    from saas.automation.service import create_rule
    from saas.events import outbox
    from saas.plugin_api.testing import fresh_database, migrate_database, settings_for
    from saas.runtime import create_runtime, load_plugins
    from saas.tenancy.session import tenant_session

    outbox.request_dispatch = lambda tenant_id: None  # this process dispatches by hand
    host = load_plugins()
    with fresh_database() as url:
        settings = settings_for(url)
        migrate_database(url, settings, host)
        runtime = create_runtime(settings, url, settings.redis_url or DEFAULT_REDIS_URL, plugins=host)
        try:
            slug = f"bench-{secrets.token_hex(3)}"
            tenant = create_tenant(
                runtime.engine, slug, "Automation bench", f"owner@{slug}.example.com", "bench-password-123"
            )
            owner = Principal(tenant_id=tenant.id, label="bench", permissions=ALL_PERMISSIONS, role=Role.OWNER)
            _dispatch_all(runtime, tenant.id)
            _customers(runtime, tenant.id, owner, args.events)
            plain_events, plain_seconds = _dispatch_all(runtime, tenant.id)
            with tenant_session(runtime.engine, tenant.id) as session:
                for n in range(args.rules):
                    conditions = {
                        "all": [
                            {"field": "customer.tier", "op": "eq", "value": "gold"},
                            {"field": "customer.name", "op": "contains", "value": "bench"},
                        ]
                    }
                    actions = [{"type": "add_tag", "tag": f"rule-{n}"}]
                    create_rule(
                        session,
                        owner,
                        None,
                        {
                            "name": f"Rule {n}",
                            "trigger": "customer.created",
                            "conditions": conditions,
                            "actions": actions,
                        },
                    )
            _dispatch_all(runtime, tenant.id)
            _customers(runtime, tenant.id, owner, args.events)
            ruled_events, ruled_seconds = _dispatch_all(runtime, tenant.id)
        finally:
            runtime.close()
    runs = args.events * args.rules
    return {
        "events": args.events,
        "rules": args.rules,
        "without_rules": {
            "events_dispatched": plain_events,
            "seconds": round(plain_seconds, 3),
            "events_per_second": round(plain_events / plain_seconds, 1),
        },
        "with_rules": {
            "events_dispatched": ruled_events,
            "seconds": round(ruled_seconds, 3),
            "rule_runs": runs,
            "rule_runs_per_second": round(runs / ruled_seconds, 1),
        },
        "cpus": os.cpu_count(),
        "load_average_at_end": [round(x, 2) for x in os.getloadavg()],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.automation", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--rules", type=int, default=5)
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args(argv)
    result = run(args)
    text = json.dumps(result, indent=2)
    print(text)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as out:
            out.write(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
