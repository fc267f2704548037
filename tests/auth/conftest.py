"""Fixtures of the authentication tests."""

from __future__ import annotations

# Argon2id at minimal cost while these modules run, as in the schema tests (autouse).
from tests.schema.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing"]
