"""Fixtures of the campaigns tests."""

from __future__ import annotations

from tests.schema.conftest import cheap_password_hashing, counts, principal_of

__all__ = ["cheap_password_hashing", "counts", "principal_of"]
