"""Runs GraphQL operations: bounded, cached parsing and validation; execution; error formatting.

Transports (HTTP, WebSocket) call `prepare_async` then `execute` or `subscribe`; they never see
an internal exception: those are logged with the request id and masked. Parsing and validation
are CPU work: a document already seen is answered from the caches, a new one is prepared in a
worker thread, so that no document holds up the event loop (and `/healthz`) while it is checked.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from inspect import isawaitable
from typing import Any

import orjson
import structlog
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    GraphQLSchema,
    OperationDefinitionNode,
    specified_rules,
    validate,
)
from graphql import execute as graphql_execute
from graphql import subscribe as graphql_subscribe
from graphql.validation import NoSchemaIntrospectionCustomRule
from starlette.concurrency import run_in_threadpool

from saas.auth.principal import Principal
from saas.db.statements import counting
from saas.errors import AppError, ErrorCode
from saas.quota.budget import Admission
from saas.runtime import Runtime
from saas.schema.builder import build_schema, checked_schema
from saas.schema.common import camel_case
from saas.schema.context import RequestContext
from saas.schema.cost import operation_cost, variables_shape
from saas.schema.execution import PassthroughExecutor, dumps
from saas.schema.fanout import Deliver, SharedStreams
from saas.schema.fast_path import FastPlan, ReplayExecutor, completed
from saas.schema.fast_path import run as run_fast
from saas.schema.field_limits import refused_fields
from saas.schema.input_text import nul_errors
from saas.schema.limits import check_selections, limit_rules, only_anonymous_fields, parse_bounded
from saas.schema.relay import remembering_sent_ids, shown_id

__all__ = ["ExecutionOutcome", "GraphQLEngine", "OperationError", "PreparedOperation", "dumps"]

logger = structlog.get_logger("saas.graphql")
CACHE_SIZE = 1024
SCHEMA_CACHE_SIZE = 64
PLUGIN_NOT_ENABLED_ERROR = {
    "message": "This operation uses a plugin that is not enabled for your tenant",
    "extensions": {"code": ErrorCode.PLUGIN_NOT_ENABLED.value},
}


class OperationError(Exception):
    """The request failed before execution: parse, validation, depth/alias limits."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(errors[0]["message"] if errors else "invalid operation")
        self.errors = errors


@dataclass(frozen=True)
class PreparedOperation:
    document: DocumentNode
    operation: OperationDefinitionNode
    operation_type: str
    operation_name: str | None
    schema: GraphQLSchema
    # (enabled plugins, document, operation name): with the variables' shape, the cost's cache key.
    key: Any = None
    # A query or mutation whose root fields `execute` runs without graphql-core's executor
    # (`saas.schema.fast_path`).
    fast: FastPlan | None = field(default=None, compare=False)


@dataclass
class ExecutionOutcome:
    payload: dict[str, Any]
    request_error: bool
    statements: int = 0
    # Refused because the tenant's cost budget is spent: seconds to wait (HTTP 429, Retry-After).
    retry_after: int | None = None


class LRU:
    """A bounded cache that worker threads and the event loop share (one lock per operation)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.items: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Any) -> Any:
        with self._lock:
            value = self.items.get(key)
            if value is not None:
                self.items.move_to_end(key)
            return value

    def __contains__(self, key: Any) -> bool:
        with self._lock:
            return key in self.items

    def put(self, key: Any, value: Any) -> None:
        with self._lock:
            self.items[key] = value
            self.items.move_to_end(key)
            if len(self.items) > self.size:
                self.items.popitem(last=False)


def _with_code(error: GraphQLError, code: ErrorCode) -> dict[str, Any]:
    formatted = error.formatted
    extensions = dict(formatted.get("extensions") or {})
    extensions.setdefault("code", code.value)
    return {**formatted, "extensions": extensions}


def _masked(original: BaseException, request_id: str, path: Any = None, locations: Any = None) -> dict[str, Any]:
    logger.error("unexpected error", request_id=request_id, path=path, exc_info=original)
    return {
        "message": "Internal server error",
        "locations": locations,
        "path": path,
        "extensions": {"code": ErrorCode.INTERNAL_SERVER_ERROR.value, "requestId": request_id},
    }


def format_error(error: GraphQLError, request_id: str) -> dict[str, Any]:
    """An error as the client sees it: expected ones with their code, the rest masked.

    Errors without a path come from the request itself (variables that do not coerce): their
    messages describe the client's input and are kept. A resolver's unexpected exception is
    logged with the request id and masked.
    """
    original = error.original_error
    if isinstance(original, AppError):
        extensions = {camel_case(k): v for k, v in original.extensions.items()}
        if original.code is ErrorCode.NOT_FOUND and "id" in extensions:
            shown = shown_id(str(extensions.pop("id")))
            if shown is not None:
                extensions["id"] = shown
        return {
            "message": original.message,
            "locations": error.formatted.get("locations"),
            "path": error.path,
            "extensions": extensions | {"code": original.code.value},
        }
    if original is None or (not error.path and isinstance(original, (GraphQLError, ValueError, TypeError))):
        return _with_code(error, ErrorCode.BAD_USER_INPUT)
    return _masked(original, request_id, error.path, error.formatted.get("locations"))


class GraphQLEngine:
    """One schema per set of enabled plugins, built on first use and kept (bounded)."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        settings = runtime.settings
        self.rules = [*specified_rules, *limit_rules(settings.max_query_depth, settings.max_aliases)]
        if not settings.introspection:
            self.rules.append(NoSchemaIntrospectionCustomRule)
        self._schemas = LRU(SCHEMA_CACHE_SIZE)
        self._documents = LRU(CACHE_SIZE)
        self._validated = LRU(CACHE_SIZE)
        self._costs = LRU(CACHE_SIZE)
        # A signed-in caller's prepared operation by `PreparedOperation.key`: a document seen
        # before is picked with one look-up, not four (parse, schema, validation, operation).
        self._prepared = LRU(CACHE_SIZE)
        # Strawberry builds schemas with shared state: one build at a time, whichever thread asks.
        self._building = threading.Lock()
        self.full_schema = self._build_checked()
        # Queries of compiled root fields skip graphql-core's executor (`saas.schema.fast_path`);
        # False runs every operation through the executor (the responses are the same).
        self.fast_path = True
        # Subscriptions of one document, variables and principal share one execution per event.
        self.shared_streams = SharedStreams()

    def _build_checked(self) -> GraphQLSchema:
        """The schema with every healthy plugin; a plugin whose contribution conflicts is left out."""
        with self._building:
            schema = checked_schema(self.runtime.plugins)._schema
        self._schemas.put(self.runtime.plugins.healthy_names(), schema)
        return schema

    def _schema_key(self, enabled: frozenset[str]) -> frozenset[str]:
        return enabled & self.runtime.plugins.healthy_names()

    def schema_for(self, enabled: frozenset[str]) -> GraphQLSchema:
        key = self._schema_key(enabled)
        schema = self._schemas.get(key)
        if schema is None:
            with self._building:
                schema = self._schemas.get(key)
                if schema is None:
                    schema = build_schema(self.runtime.plugins.enabled(key))._schema
                    self._schemas.put(key, schema)
        return schema

    def _validate(self, schema: GraphQLSchema, key: Any, query: str, document: DocumentNode) -> list[dict[str, Any]]:
        errors = self._validated.get((key, query))
        if errors is None:
            errors = [self._validation_error(e) for e in validate(schema, document, self.rules)]
            self._validated.put((key, query), errors)
        return errors

    def _document(self, query: str) -> DocumentNode:
        """The parsed document, refused before validation when over the token or selection limits."""
        document = self._documents.get(query)
        if document is None:
            settings = self.runtime.settings
            try:
                document = parse_bounded(query, settings.max_query_tokens)
                check_selections(document, settings.max_query_selections)
            except GraphQLError as error:
                raise OperationError([_with_code(error, ErrorCode.GRAPHQL_PARSE_FAILED)]) from None
            self._documents.put(query, document)
        return document

    def _check_anonymous(self, query: str, document: DocumentNode) -> None:
        """Anonymous callers may send large documents only to log in or to introspect.

        Everything else they could ask answers UNAUTHENTICATED, so a larger document can only
        cost validation time: it is refused (with that code) before it is validated.
        """
        limit = self.runtime.settings.anonymous_max_query_bytes
        if len(query.encode("utf-8", "surrogatepass")) > limit and not only_anonymous_fields(document):
            raise OperationError(
                [
                    {
                        "message": f"Log in to send documents over {limit} bytes; "
                        "without a credential only login and introspection may be longer",
                        "extensions": {"code": ErrorCode.UNAUTHENTICATED.value, "maximum": limit},
                    }
                ]
            )

    def prepare(self, query: str, operation_name: str | None, principal: Principal | None = None) -> PreparedOperation:
        """Parse and validate against the caller's schema (both cached) and pick the operation.

        Blocking: on a cache miss this parses and validates (bounded by the limits in
        `saas.schema.limits`). Code on the event loop calls `prepare_async`.
        """
        enabled = principal.plugins if principal is not None else frozenset()
        key = (self._schema_key(enabled), query, operation_name)
        if principal is not None:
            prepared: PreparedOperation | None = self._prepared.get(key)
            if prepared is not None:
                return prepared
        document = self._document(query)
        if principal is None:
            self._check_anonymous(query, document)
        schema = self.schema_for(enabled)
        errors = self._validate(schema, enabled, query, document)
        if errors:
            if schema is not self.full_schema and not self._validate(self.full_schema, "*", query, document):
                raise OperationError([PLUGIN_NOT_ENABLED_ERROR])
            raise OperationError(errors)
        operation = self._pick_operation(document, operation_name)
        prepared = PreparedOperation(
            document=document,
            operation=operation,
            operation_type=operation.operation.value,
            operation_name=operation.name.value if operation.name else None,
            schema=schema,
            key=key,
            fast=FastPlan.of(schema, document, operation),
        )
        if principal is not None:
            self._prepared.put(key, prepared)
        return prepared

    async def prepare_async(
        self, query: str, operation_name: str | None, principal: Principal | None = None
    ) -> PreparedOperation:
        """`prepare` without blocking the event loop.

        A document this caller's schema already validated is answered on the loop (dictionary
        look-ups only); anything else is parsed and validated in a worker thread.
        """
        enabled = principal.plugins if principal is not None else frozenset()
        key = self._schema_key(enabled)
        if principal is not None:
            prepared: PreparedOperation | None = self._prepared.get((key, query, operation_name))
            if prepared is not None:
                return prepared
        if key in self._schemas and (enabled, query) in self._validated:
            return self.prepare(query, operation_name, principal)
        return await run_in_threadpool(self.prepare, query, operation_name, principal)

    @staticmethod
    def _validation_error(error: GraphQLError) -> dict[str, Any]:
        code = (error.extensions or {}).get("code")
        return _with_code(error, ErrorCode(code) if code else ErrorCode.GRAPHQL_VALIDATION_FAILED)

    @staticmethod
    def _pick_operation(document: DocumentNode, operation_name: str | None) -> OperationDefinitionNode:
        operations = [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]
        if operation_name is None:
            if len(operations) != 1:
                raise OperationError(
                    [
                        {
                            "message": "Name the operation to run (operationName)",
                            "extensions": {"code": ErrorCode.BAD_USER_INPUT.value},
                        }
                    ]
                )
            return operations[0]
        for operation in operations:
            if operation.name is not None and operation.name.value == operation_name:
                return operation
        raise OperationError(
            [
                {
                    "message": f"Unknown operation named '{operation_name}'",
                    "extensions": {"code": ErrorCode.BAD_USER_INPUT.value},
                }
            ]
        )

    def new_context(self, principal: Principal | None, request_id: str) -> RequestContext:
        return RequestContext(runtime=self.runtime, principal=principal, request_id=request_id)

    def _outcome(self, result: ExecutionResult, request_id: str, statements: int = 0) -> ExecutionOutcome:
        payload: dict[str, Any] = {}
        if result.errors:
            payload["errors"] = [format_error(e, request_id) for e in result.errors]
        request_error = result.data is None and bool(result.errors) and all(not e.path for e in result.errors or [])
        if not request_error:
            payload["data"] = result.data
        return ExecutionOutcome(payload=payload, request_error=request_error, statements=statements)

    @staticmethod
    def _refused_inputs(prepared: PreparedOperation, variables: dict[str, Any] | None) -> ExecutionOutcome | None:
        """A request error when an input holds text PostgreSQL cannot store (`saas.schema.input_text`)."""
        errors = nul_errors(prepared.document, prepared.operation, variables)
        return ExecutionOutcome(payload={"errors": errors}, request_error=True) if errors else None

    def _refused_fields(
        self, prepared: PreparedOperation, principal: Principal | None, request_id: str
    ) -> ExecutionOutcome | None:
        """A request error when a scoped token selects a field it may not read (`saas.schema.field_limits`)."""
        limits = getattr(self.runtime, "field_limits", ())
        errors = refused_fields(prepared.schema, prepared.document, prepared.operation, principal, limits)
        if not errors:
            return None
        return ExecutionOutcome(payload={"errors": [format_error(e, request_id) for e in errors]}, request_error=True)

    def cost(self, prepared: PreparedOperation, variables: dict[str, Any] | None) -> int:
        """The operation's cost (`saas.schema.cost`), cached per document, operation and the
        variables that can change it; linear in the document's size on a miss."""
        key = (prepared.key, variables_shape(variables))
        cost = self._costs.get(key) if prepared.key is not None else None
        if cost is None:
            settings = self.runtime.settings
            cost = operation_cost(
                prepared.schema, prepared.document, prepared.operation, variables, settings.max_page_size
            )
            if prepared.key is not None:
                self._costs.put(key, cost)
        return cost

    async def admit(
        self, prepared: PreparedOperation, variables: dict[str, Any] | None, principal: Principal | None
    ) -> Admission:
        """Cost the operation and charge it to the caller's tenant (`saas.quota.budget`)."""
        tenant_id = principal.tenant_id if principal is not None else None
        return await self.runtime.budget.admit(tenant_id, self.cost(prepared, variables))

    @staticmethod
    def _refusal(admission: Admission) -> ExecutionOutcome:
        payload = {"errors": [admission.error], "extensions": {"cost": admission.extension}}
        return ExecutionOutcome(payload=payload, request_error=True, retry_after=admission.retry_after)

    async def execute(
        self,
        prepared: PreparedOperation,
        variables: dict[str, Any] | None,
        principal: Principal | None,
        request_id: str,
    ) -> ExecutionOutcome:
        refused = self._refused_inputs(prepared, variables) or self._refused_fields(prepared, principal, request_id)
        if refused is not None:
            return refused
        admission = await self.admit(prepared, variables, principal)
        if admission.error is not None:
            return self._refusal(admission)
        context = self.new_context(principal, request_id)
        with counting() as statements, remembering_sent_ids():
            try:
                fast = prepared.fast if self.fast_path else None
                outcomes = await run_fast(fast, variables, context) if fast is not None else None
                data = completed(fast, outcomes) if fast is not None and outcomes is not None else None
                if data is not None:
                    outcome = ExecutionOutcome(payload={"data": data}, request_error=False)
                else:
                    # The executor; with the root fields' outcomes when they already ran (no resolver runs twice).
                    executor_args: dict[str, Any] = {"replayed": outcomes} if outcomes is not None else {}
                    result = graphql_execute(
                        prepared.schema,
                        prepared.document,
                        context_value=context,
                        variable_values=variables,
                        operation_name=prepared.operation_name,
                        executor_class=ReplayExecutor if outcomes is not None else PassthroughExecutor,
                        **executor_args,
                    )
                    if not isinstance(result, ExecutionResult):
                        result = await result
                    outcome = self._outcome(result, request_id)
            finally:
                await context.release()
            outcome.statements = statements[0]
        outcome.payload["extensions"] = {"cost": admission.extension}
        return outcome

    async def subscribe(
        self,
        prepared: PreparedOperation,
        variables: dict[str, Any] | None,
        principal: Principal | None,
        request_id: str,
        deliver: Deliver | None = None,
    ) -> AsyncIterator[dict[str, Any]] | ExecutionOutcome:
        """The subscription's results. `deliver`: a direct send for shared results
        (`saas.schema.fanout.SharedStream.join`); results it takes are not yielded."""
        refused = self._refused_inputs(prepared, variables) or self._refused_fields(prepared, principal, request_id)
        if refused is not None:
            return refused
        admission = await self.admit(prepared, variables, principal)  # once, at subscribe time
        if admission.error is not None:
            return self._refusal(admission)
        key = _sharing_key(prepared, variables, principal)
        if key is None:
            return await self._subscribe(prepared, variables, principal, request_id)
        # One execution per event for every subscriber of this key (`saas/schema/fanout.py`).
        return await self.shared_streams.subscribe(  # type: ignore[no-any-return]
            key, lambda: self._subscribe(prepared, variables, principal, request_id), deliver
        )

    async def _subscribe(
        self,
        prepared: PreparedOperation,
        variables: dict[str, Any] | None,
        principal: Principal | None,
        request_id: str,
    ) -> AsyncIterator[dict[str, Any]] | ExecutionOutcome:
        context = self.new_context(principal, request_id)
        with remembering_sent_ids():
            result = graphql_subscribe(
                prepared.schema,
                prepared.document,
                context_value=context,
                variable_values=variables,
                operation_name=prepared.operation_name,
                executor_class=PassthroughExecutor,
            )
            if isawaitable(result):
                result = await result
            if isinstance(result, ExecutionResult):
                return self._outcome(result, request_id)
        return self._stream(result, request_id, context)

    async def _stream(
        self, results: AsyncIterator[ExecutionResult], request_id: str, context: RequestContext
    ) -> AsyncIterator[dict[str, Any]]:
        try:
            async for result in results:
                payload = self._outcome(result, request_id).payload
                if context._session is not None:
                    # No transaction stays open while the subscription waits for its next event.
                    await run_in_threadpool(context._session.rollback)
                yield payload
        except AppError as error:  # raised by the event source itself, e.g. a permission check
            yield {"errors": [format_error(GraphQLError(error.message, original_error=error), request_id)]}
        except Exception as error:
            yield {"errors": [_masked(error, request_id)]}
        finally:
            aclose = getattr(results, "aclose", None)
            if aclose is not None:
                await aclose()
            await context.release()


def _sharing_key(
    prepared: PreparedOperation, variables: dict[str, Any] | None, principal: Principal | None
) -> tuple[Any, ...] | None:
    """What makes two subscriptions' results the same: the document (with the caller's schema), the
    variables and the principal (all the visibility rules read); None when they cannot be shared."""
    if prepared.key is None or principal is None:
        return None
    try:
        values = orjson.dumps(variables or {}, option=orjson.OPT_SORT_KEYS)
        hash(principal)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return (id(prepared.schema), prepared.key, values, principal)


__all__ += ["dumps", "format_error"]
