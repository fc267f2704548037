"""Fixtures of the tenant data tests: tenants and logins hash passwords cheaply; the `cli` runner."""

from __future__ import annotations

from tests.schema.conftest import cheap_password_hashing  # noqa: F401
from tests.test_cli import cli  # noqa: F401
