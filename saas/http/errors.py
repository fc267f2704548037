"""Transport-level failures (malformed HTTP requests) and the GraphQL error bodies that report them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import Response

from saas.errors import ErrorCode
from saas.http.media import APPLICATION_JSON
from saas.schema.engine import dumps

INTERNAL_ERROR_MESSAGE = "Internal server error"


class TransportError(Exception):
    """The HTTP request cannot be served as a GraphQL request; answered with `status` and no data."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: ErrorCode = ErrorCode.BAD_USER_INPUT,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.headers = dict(headers or {})


def error_payload(message: str, code: ErrorCode | str, **extensions: Any) -> dict[str, Any]:
    """A GraphQL response with one error and no data."""
    return {"errors": [{"message": message, "extensions": {"code": str(getattr(code, "value", code)), **extensions}}]}


def graphql_response(
    payload: dict[str, Any],
    status: int,
    media_type: str,
    headers: Mapping[str, str] | None = None,
) -> Response:
    """Serialise once with the engine's `dumps` (which passes pre-rendered JSON fragments through)."""
    content_type = f"{media_type}; charset=utf-8"
    return Response(dumps(payload), status_code=status, headers=dict(headers or {}), media_type=content_type)


def transport_error_response(error: TransportError) -> Response:
    # Not a well-formed GraphQL response, so never `application/graphql-response+json` (spec).
    return graphql_response(error_payload(error.message, error.code), error.status, APPLICATION_JSON, error.headers)


def internal_error_response(request_id: str) -> Response:
    payload = error_payload(INTERNAL_ERROR_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR, requestId=request_id)
    return graphql_response(payload, 500, APPLICATION_JSON)
