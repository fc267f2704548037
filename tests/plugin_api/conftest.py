"""Fixtures of the plugin API tests: a sales rep of the owner's tenant, principals for direct calls."""

from __future__ import annotations

from tests.followups.conftest import principal_of, rep
from tests.schema.conftest import cheap_password_hashing

__all__ = ["cheap_password_hashing", "principal_of", "rep"]
