"""The event catalog: every event type, who owns it (the core or one plugin), and how patterns match.

The core's types are listed here. A plugin declares its own with the `saas_event_types` hook;
the host registers them under the plugin's name when it loads the plugin, and refuses a type
that the core or another plugin already owns. A tenant may subscribe a webhook to a plugin's
types only while it has that plugin enabled (`plugins_needed`), so that a tenant cannot listen
for, nor learn the shape of, a plugin it does not use. `emit_event` refuses a type that is not
in the catalog, so every event that can happen is listed (and documented in docs/api.md: a
test checks it).

A subscription names a type exactly, `customer.*` (every type of that prefix) or `*` (all).
"""

from __future__ import annotations

from collections.abc import Collection

WILDCARD = "*"

# The core's customer and contact events, named once: `saas/customers/service.py` records them
# (outbox, audit log) and publishes them live (`customerEvents`) under these names.
CUSTOMER_CREATED = "customer.created"
CUSTOMER_UPDATED = "customer.updated"
CUSTOMER_DELETED = "customer.deleted"
CUSTOMER_RESTORED = "customer.restored"
CONTACT_CREATED = "contact.created"
CONTACT_UPDATED = "contact.updated"
CONTACT_DELETED = "contact.deleted"

# Event type -> the plugin that owns it, or None for the core's own.
_OWNERS: dict[str, str | None] = {}


class EventTypeTaken(ValueError):
    """A plugin declared an event type that the core or another plugin owns."""


def register_event_types(*names: str, plugin: str | None = None) -> None:
    """Add event types owned by `plugin` (None: the core); all or none, `EventTypeTaken` on a clash."""
    for name in names:
        if not name or WILDCARD in name or name != name.strip():
            raise ValueError(f"{name!r} is not an event type name")
        if name in _OWNERS and _OWNERS[name] != plugin:
            owner = _OWNERS[name]
            raise EventTypeTaken(
                f"event type {name} is " + ("the core's" if owner is None else f"the {owner} plugin's")
            )
    for name in names:
        _OWNERS[name] = plugin


def event_types() -> list[str]:
    """Every registered type, sorted."""
    return sorted(_OWNERS)


def owner_of(event_type: str) -> str | None:
    """The plugin that owns the type (None: the core's, or not registered)."""
    return _OWNERS.get(event_type)


def is_registered(event_type: str) -> bool:
    return event_type in _OWNERS


register_event_types(
    CUSTOMER_CREATED,
    CUSTOMER_UPDATED,
    CUSTOMER_DELETED,
    CUSTOMER_RESTORED,
    CONTACT_CREATED,
    CONTACT_UPDATED,
    CONTACT_DELETED,
    "product.created",
    "product.updated",
    "member.added",
    "member.role_changed",
    "member.removed",
    "invitation.created",
    "invitation.revoked",
    "invitation.accepted",
    "api_key.created",
    "api_key.revoked",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "dead_letter.retried",
    "tenant.limits_changed",
    "plugin.enabled",
    "plugin.settings_changed",
    "plugin.disabled",
    "channel.created",
    "lead.created",
    "lead.updated",
    "lead.claimed",
    "lead.returned",
    "lead.disqualified",
    "lead.converted",
    "sales_settings.updated",
    "team.created",
    "deal_settings.updated",
    "pipeline_stage.created",
    "pipeline_stage.updated",
    "opportunity.created",
    "opportunity.updated",
    "opportunity.stage_changed",
    "contract.created",
    "order.created",
    "payment_plan.created",
    "payment.recorded",
    "invoice.requested",
    "invoice.approved",
    "invoice.rejected",
    "invoice.issued",
    "custom_field.defined",
    "custom_field.updated",
    "custom_field.archived",
    "sensitive_fields.changed",
    "encryption_keys.rewrapped",
    "reencryption.started",
    "reencryption.finished",
    "activity.logged",
    "task.created",
    "task.completed",
    "task.reassigned",
    "task.due",
    "task.overdue",
    "customer.claimed",
    "customer.transferred",
    "customer.returned_to_pool",
    "article.created",
    "article.updated",
    "article.published",
    "article.unpublished",
    "article.used",
    "return.requested",
    "return.approved",
    "return.rejected",
    "return.received",
    "return.refunded",
    "work_order.created",
    "work_order.completed",
    "work_order.cancelled",
    "portal_access.created",
    "portal_access.revoked",
    "ticket.created",
    "ticket.assigned",
    "ticket.status_changed",
    "import.started",
    "import.previewed",
    "import.commit_started",
    "import.completed",
    "import.failed",
    "ticket.reclassified",
    "ticket.commented",
    "ticket.sla_breached",
    "ticket_type.saved",
    "classification_rule.created",
    "classification_rule.updated",
    "classification_rule.deleted",
    "classification_rules.reordered",
    "agent_skills.set",
    "sla_policy.set",
    "automation_rule.created",
    "automation_rule.updated",
    "automation_rule.deleted",
    "tenant_export.requested",
    "tenant_export.completed",
    "tenant_export.failed",
    "export.requested",
    "export.completed",
    "export.failed",
    "campaign.created",
    "campaign.launched",
    "campaign.inbound_token_issued",
    "campaign.response_recorded",
)


def _matched(pattern: str) -> list[str]:
    return [name for name in _OWNERS if matches(pattern, name)]


def is_known_pattern(pattern: str) -> bool:
    """An exact known type, `*`, or `prefix.*` where some known type has that prefix."""
    if pattern == WILDCARD:
        return True
    if pattern in _OWNERS:
        return True
    return pattern.endswith(".*") and bool(_matched(pattern))


def plugins_needed(pattern: str, enabled_plugins: Collection[str]) -> set[str]:
    """The plugins a tenant must enable before subscribing to `pattern` (empty: it may now).

    A pattern is allowed when it matches at least one type of the core or of an enabled
    plugin (`*` always is); otherwise it needs the plugins owning the types it matches.
    """
    owners = {_OWNERS[name] for name in _matched(pattern)} if pattern != WILDCARD else {None}
    if not owners or None in owners or owners & set(enabled_plugins):
        return set()
    return {owner for owner in owners if owner is not None}


def matches(pattern: str, event_type: str) -> bool:
    if pattern in (WILDCARD, event_type):
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def subscribed(patterns: list[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)
