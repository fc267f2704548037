"""Every read and change of tickets and the service set-up: permission checks, input checks, events, side effects."""

from saas.tickets.service.setup import (
    create_rule,
    delete_rule,
    ensure_ticket_types,
    list_agent_skills,
    list_rules,
    list_sla_policies,
    list_ticket_types,
    reorder_rules,
    set_agent_skills,
    set_sla_policy,
    set_ticket_type,
    update_rule,
)
from saas.tickets.service.tickets import (
    assign_ticket,
    comment_on_ticket,
    create_ticket,
    get_ticket,
    reclassify_ticket,
    update_ticket_status,
)

__all__ = [
    "assign_ticket",
    "comment_on_ticket",
    "create_rule",
    "create_ticket",
    "delete_rule",
    "ensure_ticket_types",
    "get_ticket",
    "list_agent_skills",
    "list_rules",
    "list_sla_policies",
    "list_ticket_types",
    "reclassify_ticket",
    "reorder_rules",
    "set_agent_skills",
    "set_sla_policy",
    "set_ticket_type",
    "update_rule",
    "update_ticket_status",
]
