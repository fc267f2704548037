"""The event types a webhook may subscribe to, and how a subscription pattern matches a type.

Domains register the types they emit (`register_event_types`) when their module is imported;
a subscription names a type exactly, `customer.*` (every type of that prefix) or `*` (all).
"""

from __future__ import annotations

EVENT_TYPES: set[str] = set()
WILDCARD = "*"


def register_event_types(*names: str) -> None:
    EVENT_TYPES.update(names)


register_event_types(
    "customer.created",
    "customer.updated",
    "customer.deleted",
    "customer.restored",
    "contact.created",
    "contact.updated",
    "contact.deleted",
)


def is_known_pattern(pattern: str) -> bool:
    """An exact known type, `*`, or `prefix.*` where some known type has that prefix."""
    if pattern == WILDCARD or pattern in EVENT_TYPES:
        return True
    if pattern.endswith(".*"):
        prefix = pattern[:-1]
        return any(name.startswith(prefix) for name in EVENT_TYPES)
    return False


def matches(pattern: str, event_type: str) -> bool:
    if pattern in (WILDCARD, event_type):
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def subscribed(patterns: list[str], event_type: str) -> bool:
    return any(matches(p, event_type) for p in patterns)
