"""Structured logs with structlog: JSON in production, readable in development, with request context."""

from __future__ import annotations

import logging
import sys
from typing import Any

import orjson
import structlog
from structlog.tracebacks import ExceptionDictTransformer

from saas.config import Settings


def _orjson_dumps(event: Any, **_: Any) -> str:
    return orjson.dumps(event, default=str).decode()


def configure_logging(settings: Settings, *, cache_loggers: bool = False) -> None:
    """Send structlog and standard-library logs (uvicorn, SQLAlchemy) through one renderer.

    `cache_loggers`: each logger is assembled on its first use and kept (the serving process,
    `saas.cli.create_asgi_app`: no logger is rebuilt for each access line); by default it is
    rebuilt on every call, so that tests may swap the configuration (`structlog.testing.capture_logs`).

    Context bound with `structlog.contextvars` (request_id, tenant_id) is merged into every line.

    Tracebacks never show the frames' local variables: those hold passwords, tokens, API keys,
    SQL parameters and the settings (structlog's structured tracebacks, and its console
    renderer when `rich` is installed, would print them by default). Together with the
    engines' `hide_parameters` (saas.db.engine), a traceback says where and what failed, never
    with which values.
    """
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Any
    if settings.log_json:
        renderer = structlog.processors.JSONRenderer(serializer=_orjson_dumps)
        shared.append(structlog.processors.ExceptionRenderer(ExceptionDictTransformer(show_locals=False)))
    else:
        renderer = structlog.dev.ConsoleRenderer(exception_formatter=structlog.dev.plain_traceback)

    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=cache_loggers,
    )
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # One access line per request comes from us; uvicorn's own would duplicate it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
