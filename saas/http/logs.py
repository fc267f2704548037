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


# structlog's context-local variables, by their variable name (`structlog_<key>`): every
# variable `structlog.contextvars.bind_contextvars` has created, in the order of creation.
# structlog keeps this registry itself; `tests/http/test_logs.py` checks that it is the one
# `bind_contextvars` fills and that the two functions below do what structlog's do.
_LOG_CONTEXT_VARS: dict[str, Any] = structlog.contextvars._CONTEXT_VARS
_PREFIX_LEN = len(structlog.contextvars.STRUCTLOG_KEY_PREFIX)


def clear_log_context() -> None:
    """`structlog.contextvars.clear_contextvars`: every key bound to the log context is unset.

    structlog's walks every context variable of the context (those of other libraries and ours
    too) for the ones named with its prefix; this sets each of structlog's own (all are in its
    registry: `bind_contextvars` is what creates them) to its unset value, `...`, directly. A
    variable not yet set in this context reads `...` either way (its default)."""
    for var in tuple(_LOG_CONTEXT_VARS.values()):  # a copy: another thread may bind a new key
        var.set(...)


def merge_log_context(logger: Any, method_name: str, event_dict: Any) -> Any:
    """The processor `structlog.contextvars.merge_contextvars`: each key bound to the log context
    and not unset is added to the line unless the line names it itself; read from structlog's
    registry of its variables rather than by walking the whole context (`clear_log_context`).
    The keys follow in the order their variables were created (structlog's: the context's own
    order, which depends on the variables' hashes)."""
    for name, var in tuple(_LOG_CONTEXT_VARS.items()):  # a copy: another thread may bind a new key
        value = var.get()
        if value is not ...:
            event_dict.setdefault(name[_PREFIX_LEN:], value)
    return event_dict


def configure_logging(settings: Settings, *, cache_loggers: bool = False) -> None:
    """Send structlog and standard-library logs (uvicorn, SQLAlchemy) through one renderer.

    `cache_loggers`: each logger is assembled on its first use and kept (the serving process,
    `saas.cli.create_asgi_app`: no logger is rebuilt for each access line), and structlog's lines
    are rendered by structlog's processors and written to the handler's stream directly
    (`HandlerLogger`): the same line as through the standard library's `ProcessorFormatter` (the
    same processors, then the renderer), without building a `LogRecord` twice for each. By default
    loggers are rebuilt on every call, so that tests may swap the configuration
    (`structlog.testing.capture_logs`).

    Context bound with `structlog.contextvars` (request_id, tenant_id) is merged into every line
    (`merge_log_context`).

    Tracebacks never show the frames' local variables: those hold passwords, tokens, API keys,
    SQL parameters and the settings (structlog's structured tracebacks, and its console
    renderer when `rich` is installed, would print them by default). Together with the
    engines' `hide_parameters` (saas.db.engine), a traceback says where and what failed, never
    with which values.
    """
    level = logging.getLevelNamesMapping().get(settings.log_level.upper(), logging.INFO)
    shared: list[Any] = [
        merge_log_context,
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
