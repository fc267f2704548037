"""Credentials to principal for the transport: from the cache, else the blocking check in a worker thread."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import structlog
from starlette.concurrency import run_in_threadpool

from saas.auth.principal import Principal
from saas.errors import UnauthenticatedError
from saas.runtime import Runtime


async def authenticate(runtime: Runtime, authorization: str | None) -> Principal | None:
    """None for an anonymous caller; raises `UnauthenticatedError` for a bad credential.

    A credential checked moments ago is answered from the cache on the event loop; only a
    miss goes to a worker thread (it may read the database)."""
    principal = runtime.cached_principal(authorization)
    if principal is None and authorization:
        principal = await run_in_threadpool(runtime.authenticate, authorization)
    if principal is not None:
        structlog.contextvars.bind_contextvars(tenant_id=principal.tenant_text)
    return principal


def authorization_from_params(params: Mapping[str, Any]) -> str | None:
    """The `authorization` entry of a `connection_init` payload, whatever its case; None if absent.

    GraphiQL sends its headers editor's entries as connection parameters, e.g. `Authorization`.
    """
    for key, value in params.items():
        if key.lower() == "authorization":
            if not isinstance(value, str):
                raise UnauthenticatedError("authorization must be a string: Bearer <token or API key>")
            return value
    return None
