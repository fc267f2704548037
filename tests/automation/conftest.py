"""Fixtures of the automation tests."""

from __future__ import annotations

from tests.events.support import dispatch_requests
from tests.schema.conftest import cheap_password_hashing, counts, principal_of

__all__ = ["cheap_password_hashing", "counts", "dispatch_requests", "principal_of"]
