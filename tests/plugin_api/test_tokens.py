"""`create_api_key`: a core API key with exactly the given scopes, made by the core's service."""

from __future__ import annotations

from typing import Any

import pytest

from saas.errors import ForbiddenError, InputInvalid
from saas.plugin_api import create_api_key
from saas.tenancy.session import tenant_session


def test_a_key_with_the_callers_scopes(runtime: Any, tenant: Any, owner: Any, principal_of: Any) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        key_id, key = create_api_key(session, principal_of(owner), name="integration", scopes=["customers:read"])
    principal = runtime.authenticate(f"Bearer {key}")
    assert principal.api_key_id == key_id and principal.permissions == frozenset({"customers:read"})
    listed = owner.data("{ apiKeys { name scopes } }")["apiKeys"]
    assert {"name": "integration", "scopes": ["customers:read"]} in listed


def test_scopes_the_caller_lacks_and_callers_without_the_right(
    runtime: Any, tenant: Any, owner: Any, rep: Any, principal_of: Any
) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        with pytest.raises(InputInvalid):
            create_api_key(session, principal_of(owner), name="x", scopes=["no:such"])
        with pytest.raises(ForbiddenError):
            create_api_key(session, principal_of(rep), name="x", scopes=["customers:read"])
