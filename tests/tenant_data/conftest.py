"""Fixtures of the tenant data tests: tenants and logins hash passwords cheaply."""

from __future__ import annotations

from tests.schema.conftest import cheap_password_hashing  # noqa: F401
