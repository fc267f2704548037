"""Fixtures of the deals tests (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saas.runtime import Runtime
from tests.deals.support import deal_counts
from tests.schema.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing"]


@pytest.fixture
def counts(runtime: Runtime, tenant: Any) -> Callable[[], dict[str, int]]:
    """Row counts of `tenant`'s deals tables, its audit log and outbox: compare around a refused change."""
    return lambda: deal_counts(runtime, tenant.id)
