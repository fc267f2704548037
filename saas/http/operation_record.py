"""One GraphQL operation as observed by the transport: its outcome, metrics and access log line."""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from saas.http.logs import get_logger
from saas.http.metrics import OPERATION_LABEL_MAX_CHARS, UNKNOWN, Metrics
from saas.schema.engine import PreparedOperation

access_log = get_logger("saas.http.access")

# Outcomes (a bounded label set).
SUCCESS = "success"  # executed, no errors
FIELD_ERRORS = "field_errors"  # executed, errors alongside data
REQUEST_ERROR = "request_error"  # parse, validation, limits or variables: never executed
UNAUTHENTICATED = "unauthenticated"  # bad credentials
REJECTED = "rejected"  # not a well-formed GraphQL-over-HTTP request
INTERNAL_ERROR = "internal_error"  # a bug: masked for the client, logged with traceback
CANCELLED = "cancelled"  # a WebSocket operation stopped by the client or a disconnect


@dataclass(slots=True)
class OperationRecord:
    metrics: Metrics
    transport: str  # "http" | "ws"
    started: float = field(default_factory=time.perf_counter)
    operation: str = UNKNOWN
    operation_type: str = UNKNOWN
    outcome: str = SUCCESS
    error_codes: list[str] = field(default_factory=list)

    def prepared(self, prepared: PreparedOperation) -> None:
        self.operation = self.metrics.operation_label(prepared.operation_name)
        self.operation_type = prepared.operation_type

    def request_failed(self, errors: Iterable[Mapping[str, Any]], outcome: str = REQUEST_ERROR) -> None:
        self.outcome = outcome
        self._collect(errors)

    def result(self, payload: Mapping[str, Any]) -> None:
        """Note one execution result (a subscription notes each event)."""
        errors = payload.get("errors")
        if errors:
            self._collect(errors)
            if self.outcome == SUCCESS:
                self.outcome = FIELD_ERRORS

    def _collect(self, errors: Iterable[Mapping[str, Any]]) -> None:
        for error in errors:
            extensions = error.get("extensions") if isinstance(error, Mapping) else None
            code = extensions.get("code") if isinstance(extensions, Mapping) else None
            self.error_codes.append(str(code)[:OPERATION_LABEL_MAX_CHARS] if code else UNKNOWN)

    def finish(self, status: int | str) -> None:
        """Count the operation and write its access log line."""
        duration = time.perf_counter() - self.started
        m = self.metrics
        m.child(m.graphql_requests, self.operation, self.operation_type, self.outcome).inc()
        if self.operation_type != "subscription":  # a subscription's duration is its lifetime
            m.child(m.graphql_duration, self.operation, self.operation_type).observe(duration)
        for code in self.error_codes:
            m.child(m.graphql_errors, self.operation, code).inc()
        access_log.info(
            "graphql_request",
            transport=self.transport,
            operation=self.operation,
            operation_type=self.operation_type,
            outcome=self.outcome,
            status=status,
            errors=len(self.error_codes),
            duration_ms=round(duration * 1000, 3),
        )
