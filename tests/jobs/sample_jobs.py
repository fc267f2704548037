"""Jobs the tests send: they write customers (their effect) and report what they saw through Redis."""

from __future__ import annotations

import json
import time
import uuid

import redis
from sqlalchemy import select, text

from saas.auth.permissions import CUSTOMERS_WRITE
from saas.auth.principal import Principal
from saas.customers import service
from saas.customers.models import Customer
from saas.jobs.registry import JobContext, tenant_job
from saas.tenancy.session import on_commit

QUEUE = "tests_jobs"
_redis: redis.Redis | None = None


def configure(redis_url: str) -> None:
    """Where the jobs report (each process that runs them calls this once)."""
    global _redis
    _redis = redis.Redis.from_url(redis_url)


def reports() -> redis.Redis:
    assert _redis is not None, "sample_jobs.configure(redis_url) first"
    return _redis


@tenant_job(name="tests.jobs.record_customer", queue=QUEUE, max_retries=0)
def record_customer(ctx: JobContext, name: str) -> None:
    ctx.session.add(Customer(name=name))


@tenant_job(name="tests.jobs.create_customer", queue=QUEUE, max_retries=0)
def create_customer(ctx: JobContext, name: str) -> None:
    """Creates a customer through the customers service, as a job acting for its tenant does."""
    actor = Principal(tenant_id=ctx.tenant_id, label="job", permissions=frozenset({CUSTOMERS_WRITE}))
    service.create_customer(ctx.session, actor, {"name": name})


@tenant_job(name="tests.jobs.inspect", queue=QUEUE, max_retries=0)
def inspect(ctx: JobContext, report_key: str, other_tenant: str, other_customer: str) -> None:
    """Reports the tenant the job ran for and what it can see of its own and another tenant's rows."""
    session = ctx.session
    other = uuid.UUID(other_tenant)
    report = {
        "tenant": str(ctx.tenant_id),
        "visible": sorted(session.scalars(select(Customer.name))),
        "other_by_sql": session.execute(
            text("SELECT count(*) FROM customers WHERE tenant_id = :t"), {"t": other}
        ).scalar_one(),
        "other_by_key": session.get(Customer, (other, uuid.UUID(other_customer))) is not None,
    }
    reports().set(report_key, json.dumps(report))


@tenant_job(name="tests.jobs.flaky", queue=QUEUE, max_retries=5, min_backoff_ms=200, max_backoff_ms=2_000)
def flaky(ctx: JobContext, key: str, failures: int) -> None:
    """Fails `failures` times, then records a customer; logs each attempt's time and number."""
    reports().rpush(key, json.dumps({"at": time.monotonic(), "attempt": ctx.attempt}))
    ctx.session.add(Customer(name=key))
    if reports().llen(key) <= failures:
        raise RuntimeError(f"failure {reports().llen(key)} of {failures}")


@tenant_job(name="tests.jobs.always_fails", queue=QUEUE, max_retries=1, min_backoff_ms=50, max_backoff_ms=100)
def always_fails(ctx: JobContext, note: str) -> None:
    ctx.session.add(Customer(name=note))
    raise ValueError(f"cannot process {note}")


def _block_first_time(marker: str) -> None:
    """On the first delivery only: say so, then wait (for the test to kill this process)."""
    if reports().set(f"{marker}:first", 1, nx=True):
        reports().set(f"{marker}:reached", 1)
        reports().blpop([f"{marker}:release"], timeout=120)


@tenant_job(name="tests.jobs.effect_then_block", queue=QUEUE, max_retries=3, min_backoff_ms=50)
def effect_then_block(ctx: JobContext, marker: str, when: str) -> None:
    """Writes its effect, then blocks before the commit (`when="before_commit"`) or after it."""
    ctx.session.add(Customer(name=marker))
    ctx.session.flush()
    if when == "before_commit":
        _block_first_time(marker)
    else:
        on_commit(ctx.session, lambda: _block_first_time(marker))
