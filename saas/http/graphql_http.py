"""GraphQL over HTTP (GET and POST on /graphql), following the GraphQL-over-HTTP draft.

Status codes: with `application/graphql-response+json`, a request that never executed (parse,
validation, limits, cost, variables) gets 400; a tenant over its cost budget gets 429 with
`Retry-After` whatever the media type; with `application/json` (legacy clients) every
well-formed request gets 200. Malformed HTTP requests get 400/405/406/413/415 either way.
"""

from __future__ import annotations

from starlette.types import Receive, Scope, Send

from saas.errors import RateLimitedError, UnauthenticatedError
from saas.http.auth import authenticate
from saas.http.errors import (
    HttpResponse,
    TransportError,
    error_payload,
    graphql_response,
    internal_error_response,
    transport_error_response,
)
from saas.http.graphiql import graphiql_response, wants_graphiql
from saas.http.logs import get_logger
from saas.http.media import APPLICATION_JSON, GRAPHQL_RESPONSE_JSON, negotiate_response_type
from saas.http.middleware import answer_escaped, bind_request, unbind_request
from saas.http.operation_record import INTERNAL_ERROR, REJECTED, UNAUTHENTICATED, OperationRecord
from saas.http.params import GraphQLParams, check_query_size, params_from_body, params_from_query_string
from saas.http.request import HttpRequest
from saas.http.request_id import REQUEST_ID_HEADER
from saas.http.state import TransportState
from saas.schema.engine import OperationError

log = get_logger("saas.http.graphql")

# Every method reaches the endpoint so that unsupported ones get a GraphQL error body too.
ROUTE_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]
ALLOWED_METHODS = "GET, POST"


def _request_error_status(media_type: str) -> int:
    return 400 if media_type == GRAPHQL_RESPONSE_JSON else 200


async def _read_params(request: HttpRequest, state: TransportState) -> GraphQLParams:
    if request.method == "GET":
        params = params_from_query_string(request)
    elif request.method == "POST":
        params = await params_from_body(request, state.max_body_bytes, state.runtime.settings.import_max_bytes)
    else:
        raise TransportError(405, f"Use {ALLOWED_METHODS} for GraphQL requests", headers={"Allow": ALLOWED_METHODS})
    check_query_size(params, state.runtime.settings.max_query_bytes)
    return params


async def _serve(request: HttpRequest, state: TransportState, request_id: str, record: OperationRecord) -> HttpResponse:
    media_type = negotiate_response_type(request.headers.get("accept"))
    if media_type is None:
        raise TransportError(406, f"Accept one of: {GRAPHQL_RESPONSE_JSON}, {APPLICATION_JSON}")
    params = await _read_params(request, state)
    try:
        principal = await authenticate(state.runtime, request.headers.get("authorization"))
    except RateLimitedError as error:  # the client failed too often of late: its credential was not checked
        record.request_failed([{"extensions": {"code": error.code.value}}], UNAUTHENTICATED)
        payload = error_payload(error.message, error.code, retryAfter=error.retry_after)
        return graphql_response(payload, 429, media_type, {"Retry-After": str(error.retry_after)})
    except UnauthenticatedError as error:
        record.request_failed([{"extensions": {"code": error.code.value}}], UNAUTHENTICATED)
        payload = error_payload(error.message, error.code)
        return graphql_response(payload, 401, media_type, {"WWW-Authenticate": "Bearer"})

    try:
        prepared = await state.engine.prepare_async(params.query, params.operation_name, principal)
    except OperationError as error:
        record.request_failed(error.errors)
        return graphql_response({"errors": error.errors}, _request_error_status(media_type), media_type)
    record.prepared(prepared)
    if prepared.operation_type == "subscription":
        raise TransportError(400, "Subscriptions are served over WebSocket (graphql-transport-ws) on this URL")
    if prepared.operation_type != "query" and request.method != "POST":
        raise TransportError(405, "Mutations must be sent with POST", headers={"Allow": "POST"})

    outcome = await state.engine.execute(prepared, params.variables, principal, request_id)
    if outcome.retry_after is not None:  # the tenant's cost budget is spent (`saas.quota.budget`)
        record.request_failed(outcome.payload.get("errors") or [])
        return graphql_response(outcome.payload, 429, media_type, {"Retry-After": str(outcome.retry_after)})
    if outcome.request_error:
        record.request_failed(outcome.payload.get("errors") or [])
        return graphql_response(outcome.payload, _request_error_status(media_type), media_type)
    record.result(outcome.payload)
    return graphql_response(outcome.payload, 200, media_type)


async def respond(request: HttpRequest, state: TransportState, request_id: str) -> HttpResponse:
    """The response to one HTTP request on /graphql; a bug is logged and answered with a masked 500."""
    if state.runtime.settings.graphiql and wants_graphiql(request):
        return graphiql_response()
    record = OperationRecord(state.metrics, transport="http")
    response: HttpResponse
    try:
        response = await _serve(request, state, request_id, record)
    except TransportError as error:
        record.request_failed([{"extensions": {"code": error.code.value}}], REJECTED)
        response = transport_error_response(error)
    except Exception:
        log.exception("graphql_http_failed")
        record.request_failed([{"extensions": {"code": "INTERNAL_SERVER_ERROR"}}], INTERNAL_ERROR)
        response = internal_error_response(request_id)
    record.finish(response.status_code)
    return response


class GraphQLEndpoint:
    """HTTP requests on /graphql with a method of `ROUTE_METHODS`, as a bare ASGI application that
    the application (`saas.http.app`) calls ahead of Starlette's middleware and router.

    The headers are read once from the scope, the body straight from `receive`, and the response
    goes out as two messages with its headers built once. `RequestContextMiddleware`'s duties
    are done here with its functions (`saas.http.middleware`): the request id (echoed in
    `X-Request-ID`), the log context, the client for the sign-in throttle and the audit log,
    the masked 500 for an escaped exception, `http_requests_total`."""

    def __init__(self, state: TransportState, path: str) -> None:
        self.state = state
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = HttpRequest(scope, receive)
        bound = bind_request(scope, request.headers.get(REQUEST_ID_HEADER), request.headers.get("user-agent"))
        status = 500
        started = False
        try:
            response = await respond(request, self.state, bound.request_id)
            status = response.status_code
            started = True
            await response.send(send, bound.request_id.encode("latin-1"))
        except Exception:
            await answer_escaped(scope, send, bound.request_id, started)
        finally:
            unbind_request(bound)
            self.state.metrics.count_http(self.path, status)


class RoutedGraphQLEndpoint:
    """/graphql as a Starlette route, behind `RequestContextMiddleware` (which chose the request
    id and answers for the rest): requests the application leaves to its router (one mounted
    under a `root_path`)."""

    def __init__(self, state: TransportState) -> None:
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = await respond(HttpRequest(scope, receive), self.state, scope["state"]["request_id"])
        await response(scope, receive, send)
