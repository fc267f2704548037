"""Operational endpoints: liveness (/healthz), readiness (/readyz) and Prometheus metrics (/metrics)."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import Callable

import orjson
from prometheus_client import CONTENT_TYPE_LATEST
from sqlalchemy import text
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from saas.http.logs import get_logger
from saas.http.state import transport_state
from saas.runtime import Runtime

log = get_logger("saas.http.health")

JSON = "application/json; charset=utf-8"


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=JSON)


async def healthz(request: Request) -> Response:
    """The process serves requests; touches nothing else."""
    return _json({"status": "ok"})


def _database_answers(runtime: Runtime) -> None:
    with runtime.engine.connect() as connection:
        connection.execute(text("SELECT 1"))


def _redis_answers(runtime: Runtime) -> None:
    runtime.redis.ping()


async def _check(name: str, probe: Callable[[Runtime], None], runtime: Runtime) -> str:
    try:
        await run_in_threadpool(probe, runtime)
    except Exception as error:
        log.warning("readiness_check_failed", check=name, error=repr(error))
        return f"failed: {type(error).__name__}"
    return "ok"


async def readyz(request: Request) -> Response:
    """Ready when PostgreSQL and Redis both answer; 503 names the one that does not."""
    runtime = transport_state(request).runtime
    database, redis = await asyncio.gather(
        _check("database", _database_answers, runtime),
        _check("redis", _redis_answers, runtime),
    )
    checks = {"database": database, "redis": redis}
    ready = all(result == "ok" for result in checks.values())
    return _json({"status": "ok" if ready else "unavailable", "checks": checks}, 200 if ready else 503)


def _may_read_metrics(request: Request, token: str | None) -> bool:
    """Anyone when no METRICS_TOKEN is set (development; production refuses to start without it)."""
    if token is None:
        return True
    scheme, _, credential = request.headers.get("authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(credential.strip().encode(), token.encode())


async def metrics(request: Request) -> Response:
    """Prometheus text format; with METRICS_TOKEN set, only for `Authorization: Bearer <token>`."""
    state = transport_state(request)
    if not _may_read_metrics(request, state.runtime.settings.metrics_token):
        return Response(
            "Send Authorization: Bearer <METRICS_TOKEN>\n",
            status_code=401,
            media_type="text/plain; charset=utf-8",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return Response(state.metrics.render(), media_type=CONTENT_TYPE_LATEST)
