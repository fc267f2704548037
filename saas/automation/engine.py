"""Running a tenant's automation rules on its committed events, inside the outbox dispatcher.

The dispatcher (`saas.events.dispatch`) makes one `RuleRunner` per batch and calls `handle`
for each event, in the batch's transaction, before the plugins' handlers. For each enabled rule
whose trigger is the event's type and whose conditions match the payload:

1. the run row is inserted first (`INSERT … ON CONFLICT DO NOTHING` on the unique
   `(tenant_id, rule_id, event_id)`): when it exists already (the event is dispatched again,
   or another dispatcher got there first) the rule does not run again — at most once per event;
2. an event caused by automation `MAX_CAUSATION_DEPTH` times over is not acted on: the run is
   SKIPPED with `DEPTH_LIMIT`, so rules triggering each other (or themselves) stop;
3. the actions run in a savepoint, acting at the event's depth + 1 (the events they emit carry
   it, `caused_by_automation`). A failing action undoes the rule's writes and logs the run FAILED
   with its code; the batch goes on (a rule that keeps failing holds up no events). Otherwise
   the run SUCCEEDED and the webhook deliveries its actions made are enqueued after commit.

If the batch itself rolls back (a plugin's handler raised: see the dispatcher's failure
policy), the run rows roll back with the actions' writes, and the retry runs the rules afresh:
their effects are committed once.
"""

from __future__ import annotations

import logging
import uuid
from collections import defaultdict
from collections.abc import Callable, Mapping
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.auth.permissions import CUSTOMERS_READ, CUSTOMERS_WRITE, LEADS_READ, LEADS_WRITE
from saas.auth.principal import Principal
from saas.automation.actions import ActionFailed, ActionRun, run_actions
from saas.automation.conditions import evaluate
from saas.automation.extensions import extensions_of
from saas.automation.models import AutomationRule, AutomationRun, RunOutcome
from saas.errors import AppError, InputInvalid
from saas.events.outbox import caused_by_automation
from saas.plugin_host.contributions import DomainEvent, PluginContext
from saas.plugin_host.host import PluginHost

MAX_CAUSATION_DEPTH = 3
DEPTH_LIMIT = "DEPTH_LIMIT"
MAX_ERROR = 500
# What the actions may do for the tenant: change customers and leads (their tasks, tags, owners).
ACTION_PERMISSIONS = frozenset({CUSTOMERS_READ, CUSTOMERS_WRITE, LEADS_READ, LEADS_WRITE})
log = logging.getLogger(__name__)

Emit = Callable[[str, dict[str, Any]], None]


def failure_of(exc: Exception) -> str:
    """What the run log says of a failure: a code and a message meant for the tenant's admins."""
    if isinstance(exc, ActionFailed):
        text = str(exc)
    elif isinstance(exc, InputInvalid) and exc.errors:
        first = exc.errors[0]
        text = f"{first.code}: {first.message} ({'.'.join(first.field)})"
    elif isinstance(exc, AppError):
        text = f"{exc.code}: {exc.message}"
    else:
        text = "ACTION_FAILED: an unexpected error (see the server log)"
    return text[:MAX_ERROR]


class RuleRunner:
    """The tenant's enabled rules by trigger, read once per dispatched batch."""

    def __init__(
        self, session: Session, tenant_id: uuid.UUID, plugins: PluginHost, enabled: Mapping[str, dict[str, Any]]
    ) -> None:
        self.session = session
        self.tenant_id = tenant_id
        self.settings = dict(enabled)
        self.extensions = extensions_of(plugins, enabled)
        self.rules: dict[str, list[AutomationRule]] = defaultdict(list)
        query = (
            select(AutomationRule)
            .where(AutomationRule.deleted_at.is_(None), AutomationRule.enabled.is_(True))
            .order_by(AutomationRule.created_at, AutomationRule.id)
        )
        for rule in session.scalars(query):
            self.rules[rule.trigger].append(rule)

    def _context(self, plugin: str, emit: Emit) -> PluginContext:
        return PluginContext(self.tenant_id, self.session, self.settings.get(plugin, {}), emit)

    def _matches(self, rule: AutomationRule, event: DomainEvent, emit: Emit) -> bool:
        def plugin_test(op: str, actual: Any, value: Any) -> bool:
            found = self.extensions.conditions.get(op)
            return found is not None and bool(found[1].test(self._context(found[0], emit), actual, value))

        return evaluate(rule.conditions, event.payload, plugin_test)

    def _claim(self, rule_id: uuid.UUID, event: DomainEvent) -> uuid.UUID | None:
        """The new run's id, or None when the rule already ran on the event."""
        run_id = uuid.uuid4()
        inserted = self.session.execute(
            insert(AutomationRun)
            .values(
                tenant_id=self.tenant_id,
                id=run_id,
                rule_id=rule_id,
                event_id=event.id,
                event_type=event.type,
                depth=event.causation_depth,
                outcome=RunOutcome.SKIPPED.value,
            )
            .on_conflict_do_nothing(index_elements=["tenant_id", "rule_id", "event_id"])
            .returning(AutomationRun.id)
        ).scalar()
        return run_id if inserted is not None else None

    def _finish(self, run_id: uuid.UUID, outcome: RunOutcome, error: str | None) -> None:
        self.session.execute(
            update(AutomationRun)
            .where(AutomationRun.tenant_id == self.tenant_id, AutomationRun.id == run_id)
            .values(outcome=outcome.value, error=error)
            .execution_options(synchronize_session=False)
        )

    def handle(self, event: DomainEvent, emit: Emit) -> list[uuid.UUID]:
        """Run the matching rules on one event; the webhook deliveries to enqueue after commit."""
        deliveries: list[uuid.UUID] = []
        for rule in list(self.rules.get(event.type, ())):
            rule_id, name, actions = rule.id, rule.name, rule.actions
            try:
                matched = self._matches(rule, event, emit)
            except Exception as exc:  # a plugin's operator raised: the rule fails, the batch goes on
                log.exception("automation rule %s: a condition failed on event %s", rule_id, event.id)
                run_id = self._claim(rule_id, event)
                if run_id is not None:
                    self._finish(run_id, RunOutcome.FAILED, f"CONDITION_FAILED: {failure_of(exc)}"[:MAX_ERROR])
                continue
            if not matched:
                continue
            run_id = self._claim(rule_id, event)
            if run_id is None:
                continue
            if event.causation_depth >= MAX_CAUSATION_DEPTH:
                message = f"{DEPTH_LIMIT}: the event was caused by {event.causation_depth} automation runs in a row"
                self._finish(run_id, RunOutcome.SKIPPED, message)
                continue
            principal = Principal(
                tenant_id=self.tenant_id,
                label=f"automation rule {name}"[:200],
                permissions=ACTION_PERMISSIONS,
                plugins=frozenset(self.settings),
            )
            run = ActionRun(
                session=self.session,
                principal=principal,
                rule_id=rule_id,
                rule_name=name,
                run_id=run_id,
                event=event,
                extensions=self.extensions,
                plugin_context=lambda plugin: self._context(plugin, emit),
            )
            try:
                with self.session.begin_nested(), caused_by_automation(self.session, event.causation_depth + 1):
                    run_actions(run, actions)
                    self.session.flush()
            except Exception as exc:  # the rule's writes are undone; its failure is logged on the run
                if not isinstance(exc, ActionFailed | AppError):
                    log.exception("automation rule %s failed on event %s", rule_id, event.id)
                self._finish(run_id, RunOutcome.FAILED, failure_of(exc))
            else:
                self._finish(run_id, RunOutcome.SUCCEEDED, None)
                deliveries.extend(run.deliveries)
        return deliveries
