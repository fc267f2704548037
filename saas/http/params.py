"""The parameters of a GraphQL-over-HTTP request, read from a GET query string, a JSON POST body,
or a multipart POST (the GraphQL multipart request spec: `operations`, `map`, then the files).

A multipart request's files are put into the variables where `map` says, as base64 text: the
schema has no Upload scalar, and `startImport`'s `content` takes a file either way (base64 in
JSON, or a file part). A file larger than `IMPORT_MAX_BYTES` is 413."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from functools import lru_cache
from typing import Any, NamedTuple

import orjson

from saas.http.errors import TransportError
from saas.http.media import APPLICATION_JSON, parse_content_type
from saas.http.request import HttpRequest

MULTIPART_FORM_DATA = "multipart/form-data"
MAX_UPLOAD_FILES = 1


class GraphQLParams(NamedTuple):
    """What a request asks for, read once and not changed after (a tuple: built without the
    per-field `object.__setattr__` of a frozen dataclass)."""

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


def params_from_query_string(request: HttpRequest) -> GraphQLParams:
    raw = request.query_params
    data: dict[str, Any] = {}
    for name in ("query", "operationName"):
        if raw.get(name):  # the empty string means absent
            data[name] = raw[name]
    for name in ("variables", "extensions"):
        if raw.get(name):
            data[name] = _json(raw[name], f"The '{name}' parameter")
    return params_from_mapping(data)


def _too_large(max_bytes: int) -> TransportError:
    return TransportError(413, f"The request body is larger than {max_bytes} bytes")


async def _read_body(request: HttpRequest, max_bytes: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes:
        raise _too_large(max_bytes)
    body = await request.read_body(max_bytes)
    if body is None:
        raise _too_large(max_bytes)
    return body


def _place(operations: dict[str, Any], path: str, value: str) -> None:
    """Put `value` at `path` (`variables.input.content`, list indexes as numbers) of the operations."""
    *parents, last = path.split(".")
    if not parents or parents[0] != "variables":
        raise TransportError(400, f"The map path {path!r} must point into 'variables'")
    node: Any = operations
    for part in [*parents, last][:-1]:
        node = (
            node[int(part)]
            if isinstance(node, list) and part.isdigit()
            else node.get(part)
            if isinstance(node, dict)
            else None
        )
        if node is None:
            raise TransportError(400, f"The map path {path!r} does not name a variable")
    if isinstance(node, list) and last.isdigit() and int(last) < len(node):
        node[int(last)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise TransportError(400, f"The map path {path!r} does not name a variable")


async def params_from_multipart(request: HttpRequest, max_bytes: int, max_upload_bytes: int) -> GraphQLParams:
    """The parameters of a multipart request (see the module); files in the variables as base64."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > max_bytes + max_upload_bytes:
        raise TransportError(413, f"An uploaded file must be at most {max_upload_bytes} bytes")
    try:
        form = await request.starlette().form(max_files=MAX_UPLOAD_FILES, max_fields=10, max_part_size=max_bytes)
    except Exception as exc:  # python-multipart's and Starlette's parse errors
        status = 413 if "exceeded" in str(exc).lower() or "too large" in str(exc).lower() else 400
        raise TransportError(status, f"The multipart request cannot be read: {exc}") from None
    try:
        raw_operations, raw_map = form.get("operations"), form.get("map")
        if not isinstance(raw_operations, str) or not isinstance(raw_map, str):
            raise TransportError(400, "A multipart GraphQL request needs 'operations' and 'map' fields")
        operations = _json(raw_operations, "The 'operations' field")
        files = _json(raw_map, "The 'map' field")
        if not isinstance(operations, dict) or not isinstance(files, dict):
            raise TransportError(400, "'operations' and 'map' must be JSON objects")
        for key, paths in files.items():
            upload = form.get(key)
            if upload is None or isinstance(upload, str):
                raise TransportError(400, f"The map names a file {key!r} that the request does not hold")
            if upload.size is not None and upload.size > max_upload_bytes:
                raise TransportError(413, f"An uploaded file must be at most {max_upload_bytes} bytes")
            content = await upload.read(max_upload_bytes + 1)
            if len(content) > max_upload_bytes:
                raise TransportError(413, f"An uploaded file must be at most {max_upload_bytes} bytes")
            encoded = base64.b64encode(content).decode()
            for path in paths if isinstance(paths, list) else [paths]:
                _place(operations, str(path), encoded)
    finally:
        await form.close()
    return params_from_mapping(operations)


# What a body's `Content-Type` makes of it (`_body_kind`).
_JSON, _MULTIPART, _NOT_JSON, _NOT_UTF8 = "json", "multipart", "not json", "not utf-8"


# Clients send the same few `Content-Type` headers again and again: each is read once (bounded).
@lru_cache(maxsize=256)
def _body_kind(content_type: str | None) -> str:
    """JSON in UTF-8, multipart, another media type, or JSON in another charset."""
    media_type, parameters = parse_content_type(content_type)
    if media_type == MULTIPART_FORM_DATA:
        return _MULTIPART
    if media_type != APPLICATION_JSON:
        return _NOT_JSON
    if parameters.get("charset", "utf-8").lower() not in ("utf-8", "utf8"):
        return _NOT_UTF8
    return _JSON


async def params_from_body(request: HttpRequest, max_bytes: int, max_upload_bytes: int = 0) -> GraphQLParams:
    kind = _body_kind(request.headers.get("content-type"))
    if kind == _MULTIPART and max_upload_bytes > 0:
        return await params_from_multipart(request, max_bytes, max_upload_bytes)
    if kind in (_MULTIPART, _NOT_JSON):
        raise TransportError(415, "Send the GraphQL request as 'Content-Type: application/json'")
    if kind == _NOT_UTF8:
        raise TransportError(415, "The request body must be encoded in UTF-8")
    body = await _read_body(request, max_bytes)
    if not body:
        raise TransportError(400, "The request body is empty; send a JSON object with a 'query'")
    data = _json(body, "The request body")
    if not isinstance(data, dict):
        raise TransportError(400, "The request body must be a JSON object")
    return params_from_mapping(data)


def check_query_size(params: GraphQLParams, max_query_bytes: int) -> None:
    """413 when the query's UTF-8 form is longer than `max_query_bytes`. A character takes at
    most 4 bytes, so a query of at most a quarter as many characters is not encoded to know."""
    if len(params.query) * 4 <= max_query_bytes:
        return
    size = len(params.query.encode("utf-8", "surrogatepass"))
    if size > max_query_bytes:
        raise TransportError(413, f"The query is {size} bytes; the limit is {max_query_bytes} bytes")
