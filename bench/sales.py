"""The sales scenarios of `bench.run --scenarios`: the customer 360 and the pipeline report.

Both run as the owner of `bench-big` (seeded with a sales history by `bench.seed`). The customer
360 reads the key account (`bench.seed.KEY_ACCOUNT`, the tenant's oldest customer: 12
opportunities with their stage history, 4 or so contracts with an order, a plan and an invoice
each, 60 activities, 15 tasks) with every part at once; the pipeline report sums the tenant's
opportunities per stage. Before the load, each query runs in-process to check its answer and
count its SQL statements.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson

from bench.common import BIG_SLUG, InProcess, bench_url

CUSTOMER_360 = """query Customer360($id: ID!) {
  customer(id: $id) {
    id name lifecycleStage lastContactedAt owner { id }
    contacts { id name email isPrimary }
    timeline(first: 20) {
      edges { cursor node { kind occurredAt summary recordId actor { id } } }
      pageInfo { hasNextPage endCursor }
    }
    opportunities {
      id name amount currency status weightedAmount expectedCloseOn stage { name probability }
      stageHistory { fromStage { name } toStage { name } changedBy { id } changedAt reason }
    }
    contracts { id number amount startsOn endsOn invoicedAmount uninvoicedAmount }
    orders { id total createdAt lines { position quantity unitPrice amount product { sku name } } }
    paymentPlans { id total installments { position dueOn amount receivedAmount outstandingAmount overdue } }
    invoices { id status amount number requestedAt }
    tasks { id title dueAt completedAt assignee { id } }
  }
}"""

PIPELINE_REPORT = """query PipelineReport {
  pipelineReport { stage { name kind } currency count amount weightedAmount }
}"""

# The key account: the tenant's first customer by creation.
KEY_ACCOUNT_ID = "{ customers(first: 1, orderBy: CREATED_AT_ASC) { edges { node { id name } } } }"


@dataclass(frozen=True)
class Scenario:
    name: str
    query: str
    variables: dict[str, Any]
    statements: int  # per request, counted in-process (execution and authentication)
    size: str  # what one answer holds

    @property
    def body(self) -> bytes:
        return orjson.dumps({"query": self.query, "variables": self.variables})


def _children(customer: dict[str, Any]) -> str:
    parts = {
        "contacts": len(customer["contacts"]),
        "timeline entries": len(customer["timeline"]["edges"]),
        "opportunities": len(customer["opportunities"]),
        "stage changes": sum(len(o["stageHistory"]) for o in customer["opportunities"]),
        "contracts": len(customer["contracts"]),
        "order lines": sum(len(o["lines"]) for o in customer["orders"]),
        "installments": sum(len(p["installments"]) for p in customer["paymentPlans"]),
        "invoices": len(customer["invoices"]),
        "tasks": len(customer["tasks"]),
    }
    return ", ".join(f"{count} {name}" for name, count in parts.items())


def sales_scenarios(database: str, redis: str) -> list[Scenario]:
    """The two scenarios, each checked and its statements counted in-process (warm: the second run)."""
    client = InProcess.create(bench_url(database), redis)
    try:
        client.login(BIG_SLUG)
        key = client.data(KEY_ACCOUNT_ID)["customers"]["edges"][0]["node"]
        found: list[Scenario] = []
        for name, query, variables in (
            ("customer 360", CUSTOMER_360, {"id": key["id"]}),
            ("pipelineReport", PIPELINE_REPORT, {}),
        ):
            client.data(query, variables)
            data = client.data(query, variables)
            if name == "customer 360":
                if not data["customer"]["opportunities"] or not data["customer"]["timeline"]["edges"]:
                    raise RuntimeError(
                        "the key account has no sales history: seed again (python -m bench.seed --reset)"
                    )
                size = f"{key['name']}: {_children(data['customer'])}"
            else:
                rows = data["pipelineReport"]
                size = f"{len(rows)} rows, {sum(int(r['count']) for r in rows)} opportunities"
            found.append(Scenario(name, query, variables, client.last_statements, size))
        return found
    finally:
        client.close()
