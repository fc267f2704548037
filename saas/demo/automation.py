"""The demo's automation rules: a welcome for key customers, a round robin for unowned ones, and
alerts on large opportunities and complaints; made through the automation service."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from saas.automation import service
from saas.plugin_host.contributions import DemoContext
from saas.schema.relay import to_global_id
from saas.teams.models import Team

TEAM = "Field sales"


def rules(team_id: str) -> list[dict[str, Any]]:
    return [
        {
            "name": "Welcome key accounts",
            "trigger": "customer.created",
            "conditions": {"all": [{"field": "customer.tier", "op": "in", "value": ["gold", "platinum", "A"]}]},
            "actions": [
                {"type": "add_tag", "tag": "key-account"},
                {"type": "create_task", "title": "Welcome call to {customer.name}", "dueInDays": 1},
            ],
        },
        {
            "name": "Share out unowned customers",
            "trigger": "customer.created",
            "conditions": {"field": "customer.owner", "op": "eq", "value": None},
            "actions": [{"type": "assign_owner", "teamId": team_id}],
        },
        {
            "name": "Large opportunity alert",
            "trigger": "opportunity.created",
            "conditions": {"field": "opportunity.amount", "op": "gte", "value": "50000"},
            "actions": [{"type": "notify", "title": "Large opportunity: {opportunity.name}", "roles": ["MANAGER"]}],
        },
        {
            "name": "Complaints reach the managers",
            "trigger": "ticket.created",
            "conditions": {
                "any": [
                    {"field": "ticket.type", "op": "eq", "value": "complaint"},
                    {"field": "ticket.subject", "op": "contains", "value": "投诉"},
                ]
            },
            "actions": [
                {"type": "notify", "title": "Complaint {ticket.number}: {ticket.subject}", "roles": ["MANAGER"]}
            ],
            "enabled": False,
        },
    ]


def seed_automation(demo: DemoContext) -> None:
    """Rules on the events from now on (the demo's own data is made before they exist)."""
    team = demo.session.scalar(select(Team.id).where(Team.name == TEAM))
    if team is None:
        return
    for rule in rules(to_global_id("Team", team)):
        service.create_rule(demo.session, demo.owner, None, rule)
