"""Event type patterns: exact names, `prefix.*` and `*`."""

from __future__ import annotations

from saas.events.catalog import is_known_pattern, matches, subscribed


def test_patterns() -> None:
    assert matches("customer.created", "customer.created")
    assert not matches("customer.created", "customer.updated")
    assert matches("customer.*", "customer.deleted")
    assert not matches("customer.*", "contact.created")
    assert not matches("customer.*", "customers.created")
    assert matches("*", "anything.at_all")
    assert subscribed(["contact.*", "customer.created"], "customer.created")
    assert not subscribed(["contact.*"], "customer.created")


def test_known_patterns() -> None:
    assert all(is_known_pattern(p) for p in ("*", "customer.*", "contact.deleted", "customer.restored"))
    assert not any(is_known_pattern(p) for p in ("customer.exploded", "nothing.*", "customer", "", "customer.**"))
