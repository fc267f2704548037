"""The per-request context: who is calling, the tenant-bound session, and the DataLoaders.

Database work is blocking, so it runs in a worker thread; a per-request lock keeps the
request's one session used by one thread at a time.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from saas.auth.principal import Principal
from saas.errors import UnauthenticatedError
from saas.sensitive.reveal import holds_sensitive, load_data_keys, record_reads, reveal_document
from saas.tenancy.session import make_session, tenant_session

if TYPE_CHECKING:  # the runtime wires every domain; a context only holds it
    from saas.runtime import Runtime

T = TypeVar("T")


@dataclass
class RequestContext:
    runtime: Runtime
    principal: Principal | None
    request_id: str
    loaders: dict[str, Any] = field(default_factory=dict)  # by name: see saas/schema/loaders.py
    _session: Session | None = None
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise UnauthenticatedError()
        return self.principal

    def _tenant_session(self) -> Session:
        if self._session is None:
            principal = self.require_principal()
            self._session = make_session(self.runtime.engine, principal.tenant_id)
        return self._session

    async def read(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(session, *args)` on the request's tenant-bound session.

        The read transaction stays open until the request ends: one snapshot per request. If
        its first statement finds the connection dropped by PostgreSQL (a restart, a failover),
        SQLAlchemy invalidates the pool and the read runs once more on a fresh connection: no
        snapshot had been taken yet, so nothing the request saw changes."""
        async with self._lock:
            return await run_in_threadpool(self._read_sync, work, *args)

    def _read_sync(self, work: Callable[..., T], *args: Any) -> T:
        session = self._tenant_session()
        fresh = not session.in_transaction()
        try:
            return work(session, *args)
        except DBAPIError as error:
            if not (fresh and error.connection_invalidated):
                raise
            session.rollback()
            return work(session, *args)

    async def write(self, work: Callable[..., T], *args: Any) -> T:
        """Run `work(session, *args)` in its own transaction: committed if it returns, else rolled back."""
        async with self._lock:
            return await run_in_threadpool(self._write_sync, work, *args)

    def _write_sync(self, work: Callable[..., T], *args: Any) -> T:
        session = self._tenant_session()
        try:
            result = work(session, *args)
            session.commit()
            return result
        except BaseException:
            session.rollback()
            raise

    async def global_work(self, work: Callable[..., T], *args: Any) -> T:
        """Run blocking work that manages its own sessions (e.g. login before a tenant is known)."""
        return await run_in_threadpool(work, *args)

    def close(self) -> None:
        if self._session is not None:
            self._session.close()  # rolls back whatever is still open
            self._session = None

    async def release(self) -> None:
        """`close` at the end of the request. A session still in a transaction (a read's snapshot)
        rolls it back on its connection, blocking work, in a worker thread; one whose work has all
        ended (a write committed or rolled back) holds no connection, and closing it only forgets
        its objects: done here, without a thread hop."""
        session = self._session
        if session is None:
            return
        if session.in_transaction():
            await run_in_threadpool(self.close)
        else:
            self.close()


async def fetch_compiled(context: RequestContext, sql: str, params: dict[str, Any]) -> str | None:
    """Run a compiled read statement for the caller's tenant (one round trip); sensitive values in
    its result are masked or opened for the caller (`saas.sensitive.reveal`)."""
    from saas.db.reads import fetch_json

    principal = context.require_principal()
    json_text = await fetch_json(context.runtime.read_pool, principal.tenant_text, sql, params)
    if json_text is not None and holds_sensitive(json_text):
        json_text = await _reveal(context, principal, json_text)
    return json_text


async def _reveal(context: RequestContext, principal: Principal, json_text: str) -> str:
    """The values the caller may see; the data keys read on first use, the reads audited."""
    revealed = reveal_document(json_text, principal)
    if revealed.missing_versions:
        await context.read(load_data_keys, principal.tenant_id, revealed.missing_versions)
        revealed = reveal_document(json_text, principal, keys_loaded=True)
    if revealed.reads:
        await run_in_threadpool(_record_reads, context.runtime.engine, principal, revealed.reads)
    return revealed.json_text


def _record_reads(engine: Any, principal: Principal, reads: list[tuple[str, str, str]]) -> None:
    with tenant_session(engine, principal.tenant_id) as session:
        record_reads(session, principal, reads)
