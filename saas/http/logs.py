"""Structured logs with structlog: JSON in production, readable in development, with request context."""

from __future__ import annotations

import logging
import sys
import traceback
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
    `saas.cli.create_asgi_app`: no logger is rebuilt for each access line), and structlog's lines
    are rendered by structlog's processors and written to the handler's stream directly
    (`HandlerLogger`): the same line as through the standard library's `ProcessorFormatter` (the
    same processors, then the renderer), without building a `LogRecord` twice for each. By default
    loggers are rebuilt on every call, so that tests may swap the configuration
    (`structlog.testing.capture_logs`).

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

    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    if cache_loggers:
        # structlog's lines rendered by structlog and written to the handler's stream, without a
        # standard-library record (`HandlerLogger`); the standard library's own go through the formatter.
        processors = [*shared, renderer]
        factory: Any = HandlerLoggerFactory(handler)
    else:
        processors = [*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter]
        factory = structlog.stdlib.LoggerFactory()
    structlog.configure(
        processors=processors,
        logger_factory=factory,
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=cache_loggers,
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
    # One access line per request comes from us; uvicorn's own would duplicate it.
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)


class HandlerLogger:
    """A structlog logger that writes rendered lines to a `logging.StreamHandler`'s stream, as the
    handler writes a record: under the handler's lock, the line and its terminator in one write,
    then a flush. So its lines never interleave with the standard library's (uvicorn, SQLAlchemy)
    on the same stream. Levels are filtered before (`make_filtering_bound_logger`)."""

    def __init__(self, name: str, handler: logging.StreamHandler[Any]) -> None:
        self.name = name  # `add_logger_name` reads it
        self._handler = handler

    def msg(self, line: str) -> None:
        handler = self._handler
        handler.acquire()
        try:
            handler.stream.write(line + handler.terminator)
            handler.flush()
        except RecursionError:
            raise
        except Exception:
            # As `Handler.handleError`: a line that cannot be written never fails the request.
            if logging.raiseExceptions and sys.stderr:
                traceback.print_exc(file=sys.stderr)
        finally:
            handler.release()

    debug = info = warn = warning = error = critical = exception = fatal = log = msg


class HandlerLoggerFactory:
    def __init__(self, handler: logging.StreamHandler[Any]) -> None:
        self.handler = handler

    def __call__(self, *args: Any) -> HandlerLogger:
        return HandlerLogger(args[0] if args else "", self.handler)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
