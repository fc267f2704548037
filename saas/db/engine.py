"""Engines: the owner's (migrations) and the application role's (everything at run time)."""

from __future__ import annotations

from sqlalchemy import Engine, create_engine
from sqlalchemy.engine import URL, make_url

from saas.config import Settings
from saas.db.async_reads import AsyncReadPool, dsn_of
from saas.db.prepared_writes import PREPARED_WRITES_OPTION

# Every connection of the application role: timestamps leave PostgreSQL as UTC, whether Python or
# PostgreSQL renders them; and no JIT compilation. A statement whose estimated cost passes
# `jit_above_cost` (a report over a large tenant, often on a pessimistic row estimate such as a
# `generate_series`'s 1,000 rows) was compiled for about 0.4 s before it ran: `claimStatistics`
# spent 395 ms of its 461 ms compiling on bench-big (docs/performance.md "JIT"). Our statements
# are short or planned once (prepared); the one JIT was seen to compile spent six times longer
# compiling than running.
SESSION_OPTIONS = "-c timezone=UTC -c jit=off"
CONNECT_ARGS = {"application_name": "saas", "options": SESSION_OPTIONS}
# A failed statement's error names its SQL, never its parameters: those carry user data and
# credentials (e-mails, digests), and errors end up in logs.
HIDE_PARAMETERS = True


def owner_url(database_url: str) -> URL:
    url = make_url(database_url)
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername="postgresql+psycopg2")
    return url


def app_url(settings: Settings, database_url: str) -> URL:
    """The same database, reached as the application role (no ownership, no BYPASSRLS)."""
    return owner_url(database_url).set(username=settings.app_role, password=settings.app_role_password)


def create_app_engine(settings: Settings, database_url: str) -> Engine:
    # QueuePool keeps up to pool_size connections open between requests; a pool that
    # closes returned connections makes most requests pay for a new backend.
    return create_engine(
        app_url(settings, database_url),
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_pool_size,
        pool_pre_ping=False,
        pool_recycle=3600,
        connect_args=CONNECT_ARGS,
        hide_parameters=HIDE_PARAMETERS,
        execution_options={PREPARED_WRITES_OPTION: settings.db_prepared_writes},
    )


def create_read_pool(settings: Settings, database_url: str) -> AsyncReadPool:
    """The compiled reads' connections (see saas/db/reads.py), as the application role: at most
    `DB_READ_CONCURRENCY` (else `DB_POOL_SIZE`) per process, preparing the statements unless
    `DB_PREPARED_READS` is off."""
    return AsyncReadPool(
        dsn_of(app_url(settings, database_url)),
        settings.db_read_concurrency or settings.db_pool_size,
        prepared=settings.db_prepared_reads,
        connect_args=CONNECT_ARGS,
    )


def create_owner_engine(database_url: str) -> Engine:
    return create_engine(owner_url(database_url), pool_size=2, max_overflow=2, hide_parameters=HIDE_PARAMETERS)
