"""The parameters of a GraphQL-over-HTTP request, read from a GET query string or a JSON POST body."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import orjson
from starlette.requests import Request

from saas.http.errors import TransportError
from saas.http.media import APPLICATION_JSON, parse_content_type


@dataclass(frozen=True)
class GraphQLParams:
    query: str
    operation_name: str | None
    variables: dict[str, Any] | None
    extensions: dict[str, Any] | None


def _optional_object(value: Any, name: str) -> dict[str, Any] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise TransportError(400, f"'{name}' must be a JSON object")
    return value


def params_from_mapping(data: Mapping[str, Any]) -> GraphQLParams:
    """Check the shape of the parameters; `null` means absent (unknown keys are ignored)."""
    query = data.get("query")
    if query is None:
        raise TransportError(400, "The GraphQL request must have a 'query' parameter")
    if not isinstance(query, str):
        raise TransportError(400, "'query' must be a string")
    operation_name = data.get("operationName")
    if operation_name is not None and not isinstance(operation_name, str):
        raise TransportError(400, "'operationName' must be a string")
    return GraphQLParams(
        query=query,
        operation_name=operation_name or None,
        variables=_optional_object(data.get("variables"), "variables"),
        extensions=_optional_object(data.get("extensions"), "extensions"),
    )


def _json(text: str | bytes, what: str) -> Any:
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise TransportError(400, f"{what} is not valid JSON") from None


def params_from_query_string(request: Request) -> GraphQLParams:
    raw = request.query_params
    data: dict[str, Any] = {}
    for name in ("query", "operationName"):
        if raw.get(name):  # the empty string means absent
            data[name] = raw[name]
    for name in ("variables", "extensions"):
        if raw.get(name):
            data[name] = _json(raw[name], f"The '{name}' parameter")
    return params_from_mapping(data)


async def _read_body(request: Request, max_bytes: int) -> bytes:
    too_large = TransportError(413, f"The request body is larger than {max_bytes} bytes")
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise too_large
    chunks = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > max_bytes:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


async def params_from_body(request: Request, max_bytes: int) -> GraphQLParams:
    media_type, parameters = parse_content_type(request.headers.get("content-type"))
    if media_type != APPLICATION_JSON:
        raise TransportError(415, "Send the GraphQL request as 'Content-Type: application/json'")
    if parameters.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        raise TransportError(415, "The request body must be encoded in UTF-8")
    body = await _read_body(request, max_bytes)
    if not body:
        raise TransportError(400, "The request body is empty; send a JSON object with a 'query'")
    data = _json(body, "The request body")
    if not isinstance(data, dict):
        raise TransportError(400, "The request body must be a JSON object")
    return params_from_mapping(data)


def check_query_size(params: GraphQLParams, max_query_bytes: int) -> None:
    size = len(params.query.encode("utf-8", "surrogatepass"))
    if size > max_query_bytes:
        raise TransportError(413, f"The query is {size} bytes; the limit is {max_query_bytes} bytes")
