"""Fixtures of the service tests: the knowledge base, returns and work orders."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from saas.runtime import Runtime
from tests.knowledge.support import service_counts
from tests.schema.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing"]


@pytest.fixture
def counts(runtime: Runtime, tenant: Any) -> Callable[[], dict[str, int]]:
    """Row counts of `tenant`'s service tables, audit log, outbox and notifications: compare around a refused change."""
    return lambda: service_counts(runtime, tenant.id)
