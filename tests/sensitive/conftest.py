"""Fixtures of the sensitive fields tests (the shared ones live in tests/conftest.py)."""

from __future__ import annotations

from tests.schema.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing"]
