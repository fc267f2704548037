"""Fixtures of the import tests (cheap password hashing for the members they add)."""

from __future__ import annotations

from tests.schema.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing"]
