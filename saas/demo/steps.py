"""Each core domain's demo data: one step per domain, run in this order after the demo customers.

A step is `step(demo: DemoContext) -> None`; it writes through its domain's services, acting as
`demo.owner` or one of `demo.members`, and draws only from `demo.rng` (seeded for the step), so
the demo is deterministic. A later step may read what an earlier one made.
"""

from __future__ import annotations

from collections.abc import Callable

from saas.demo.automation import seed_automation
from saas.demo.campaigns import seed_campaigns
from saas.demo.imports import seed_imports
from saas.demo.knowledge import seed_knowledge
from saas.demo.returns import seed_returns
from saas.demo.sales import seed_sales
from saas.demo.service import seed_service
from saas.demo.workorders import seed_work_orders
from saas.plugin_host.contributions import DemoContext

DemoStep = Callable[[DemoContext], None]

CORE_STEPS: tuple[tuple[str, DemoStep], ...] = (
    ("sales", seed_sales),
    ("service", seed_service),
    ("knowledge", seed_knowledge),
    ("returns", seed_returns),
    ("work_orders", seed_work_orders),
    ("campaigns", seed_campaigns),
    ("imports", seed_imports),
    ("automation", seed_automation),
)
