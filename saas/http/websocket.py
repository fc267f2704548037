"""The graphql-transport-ws protocol on /graphql (https://github.com/enisdenjo/graphql-ws, PROTOCOL.md).

One connection: `connection_init` (authorisation in its payload) within a timeout, then any
number of operations, each a task keyed by its client-chosen id. Queries and mutations answer
once (next + complete); subscriptions stream `next` until they end or the client completes them.

The credential given at `connection_init` is kept, not the principal it stood for then: every
operation is authorised with the credential's current state, through the same credential cache
as HTTP. While subscriptions run, a watcher checks the credential again every cache window. A
credential that has ended (revoked, member removed, token expired) closes the connection with
4403, which graphql-ws clients answer by connecting again with fresh connection parameters; a
token's `exp` closes it at that moment. When the caller's rights change (e.g. a new role),
subscriptions begun with the old rights end with a FORBIDDEN `error`; later ones run with the
new rights.
"""

from __future__ import annotations

import asyncio
import functools
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Generator
from contextlib import suppress
from typing import Any

import orjson
import structlog
from starlette.websockets import WebSocket, WebSocketDisconnect

from saas.accounts.credentials import credential_expiry
from saas.auth.principal import Principal
from saas.errors import ErrorCode, UnauthenticatedError
from saas.http.auth import authenticate, authorization_from_params
from saas.http.errors import INTERNAL_ERROR_MESSAGE, TransportError, error_payload
from saas.http.logs import get_logger
from saas.http.operation_record import CANCELLED, INTERNAL_ERROR, REJECTED, UNAUTHENTICATED, OperationRecord
from saas.http.params import GraphQLParams, check_query_size, params_from_mapping
from saas.http.state import TransportState, transport_state
from saas.http.ws_protocol import DIRECT_SEND, text_frame
from saas.schema.engine import ExecutionOutcome, OperationError, dumps
from saas.schema.fanout import SharedResult

log = get_logger("saas.http.websocket")

PROTOCOL = "graphql-transport-ws"
MAX_CLOSE_REASON = 100  # a close frame's reason must fit in 123 bytes
ACCESS_CHANGED = error_payload(
    "Your access changed since this subscription started: subscribe again", ErrorCode.FORBIDDEN
)["errors"]
CREDENTIAL_ENDED = [{"extensions": {"code": ErrorCode.UNAUTHENTICATED.value}}]


class CloseConnection(Exception):
    """Ends the connection with a protocol close code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason[:MAX_CLOSE_REASON]


class ConnectionGone(Exception):
    """The socket is closed: nothing more can be sent."""


def _invalid(what: str) -> CloseConnection:
    return CloseConnection(4400, what)


def _forbidden(error: UnauthenticatedError) -> CloseConnection:
    return CloseConnection(4403, f"Forbidden: {error.message}")


def _message_id(message: dict[str, Any]) -> str:
    op_id = message.get("id")
    if not isinstance(op_id, str) or not op_id:
        raise _invalid(f"Invalid {message['type']} message: 'id' must be a non-empty string")
    return op_id


class GraphQLTransportWSConnection:
    def __init__(self, websocket: WebSocket, state: TransportState) -> None:
        self.websocket = websocket
        self.state = state
        self.connection_id: str = websocket.state.request_id
        self.authorization: str | None = None
        self.principal: Principal | None = None
        self.expires_at: int | None = None  # the token's `exp` (seconds since the epoch)
        self.init_received = False
        self.acknowledged = False
        self.closed = False
        self.operations: dict[str, asyncio.Task[None]] = {}
        self.subscriptions: dict[str, Principal | None] = {}  # running ones, with the principal they run as
        self._send_lock = asyncio.Lock()
        # The server's direct send (`saas.http.ws_protocol`), when it offers one: a text message
        # framed and written in the caller's step, or False if the socket cannot take it now.
        direct = (websocket.scope.get("extensions") or {}).get(DIRECT_SEND)
        self._send_now: Callable[[str | bytes], bool] | None = direct["send_text"] if direct else None
        # The same given the frame made already (`text_frame(data)`), e.g. once for every subscriber of an event.
        self._send_framed: Callable[[bytes, bytes], bool] | None = (direct or {}).get("send_framed")
        self._sending = 0  # sends begun and not ended (waiting for the lock or sending)
        self._carried: set[asyncio.Future[None]] = set()  # direct sends that had to wait, until done
        self._reader: asyncio.Task[None] | None = None
        self._watcher: asyncio.Task[None] | None = None
        self._ending: CloseConnection | None = None

    async def serve(self) -> None:
        if PROTOCOL not in self.websocket.scope.get("subprotocols", []):
            # Accept first: a close before accepting would be a bare HTTP 403 without the code.
            await self.websocket.accept()
            await self._close(4406, "Subprotocol not acceptable")
            return
        await self.websocket.accept(subprotocol=PROTOCOL)
        # The messages are read in a task of their own, so that the credential watcher or an
        # operation can end the connection while the reader waits for the next message.
        reader = self._reader = asyncio.create_task(self._read_messages(), name="graphql-ws:reader")
        try:
            await asyncio.wait({reader})
            error = self._ending if reader.cancelled() else reader.exception()
            if isinstance(error, CloseConnection):
                await self._close(error.code, error.reason)
            elif isinstance(error, (WebSocketDisconnect, ConnectionGone)):
                self.closed = True
            elif error is not None:
                raise error
        finally:
            await self._stop_tasks(reader, self._watcher)

    async def _read_messages(self) -> None:
        loop = asyncio.get_running_loop()
        init_deadline = loop.time() + self.state.ws_init_timeout
        while True:
            timeout = None if self.init_received else init_deadline - loop.time()
            try:
                message = await asyncio.wait_for(self.websocket.receive(), timeout)
            except TimeoutError:
                raise CloseConnection(4408, "Connection initialisation timeout") from None
            if message["type"] == "websocket.disconnect":
                self.closed = True
                return
            await self._handle(dict(message))

    def _end(self, close: CloseConnection) -> None:
        """End the connection with `close` from outside the reader (the watcher, an operation)."""
        if self._ending is None:
            log.info("graphql_ws_credential_ended", code=close.code, reason=close.reason)
            self._ending = close
        if self._reader is not None:
            self._reader.cancel()

    async def _handle(self, frame: dict[str, Any]) -> None:
        text = frame.get("text")
        if text is None:
            raise _invalid("Messages must be text frames")
        try:
            message = orjson.loads(text)
        except orjson.JSONDecodeError:
            raise _invalid("Message is not valid JSON") from None
        if not isinstance(message, dict) or not isinstance(message.get("type"), str):
            raise _invalid("Message must be a JSON object with a 'type'")
        kind = message["type"]
        if kind == "connection_init":
            await self._connection_init(message.get("payload"))
        elif kind == "ping":
            await self._send({"type": "pong"})
        elif kind == "pong":
            pass
        elif kind == "subscribe":
            await self._subscribe(message)
        elif kind == "complete":
            op_id = _message_id(message)
            self.subscriptions.pop(op_id, None)
            task = self.operations.pop(op_id, None)
            if task is not None:
                task.cancel()
        else:
            raise _invalid(f"Unknown message type: {kind}")

    async def _connection_init(self, payload: Any) -> None:
        if self.init_received:
            raise CloseConnection(4429, "Too many initialisation requests")
        self.init_received = True
        if payload is None:
            payload = {}
        if not isinstance(payload, dict):
            raise _invalid("Invalid connection_init payload: it must be an object")
        try:
            authorization = authorization_from_params(payload)
            self.principal = await authenticate(self.state.runtime, authorization)
            self.expires_at = credential_expiry(self.state.runtime.settings, authorization)
        except UnauthenticatedError as error:
            raise _forbidden(error) from None
        except Exception:
            log.exception("graphql_ws_authentication_failed")
            raise CloseConnection(1011, INTERNAL_ERROR_MESSAGE) from None
        self.authorization = authorization
        await self._send({"type": "connection_ack"})
        self.acknowledged = True
        if self.principal is not None:
            self._watcher = asyncio.create_task(self._watch_credential(), name="graphql-ws:credential")

    async def _authorise(self) -> Principal | None:
        """The connection's principal as its credential stands now (HTTP's credential cache applies).

        Raises `CloseConnection` (4403) when the credential has ended. Running subscriptions
        begun as another principal (other rights) are ended first, so none streams with rights
        the caller no longer has."""
        if self.authorization is None:
            return None
        try:
            principal = await authenticate(self.state.runtime, self.authorization)
        except UnauthenticatedError as error:
            raise _forbidden(error) from None
        self.principal = principal
        await self._end_subscriptions_not_run_as(principal)
        return principal

    async def _end_subscriptions_not_run_as(self, principal: Principal | None) -> None:
        outdated = [op_id for op_id, runs_as in self.subscriptions.items() if runs_as != principal]
        tasks = []
        for op_id in outdated:
            del self.subscriptions[op_id]
            task = self.operations.pop(op_id, None)
            if task is not None:
                task.cancel()
                tasks.append(task)
        if tasks:
            await asyncio.wait(tasks)
        for op_id in outdated:
            await self._send({"id": op_id, "type": "error", "payload": ACCESS_CHANGED})

    async def _watch_credential(self) -> None:
        """Close the connection at the token's `exp`, and while subscriptions run, check the
        credential every `ws_credential_check_interval` (other operations are checked as they start).

        A change made in this process is seen at the next check; one made by another process
        once this process's cached check is older than the cache window as well."""
        interval = self.state.ws_credential_check_interval
        while True:
            delay = interval if self.expires_at is None else min(interval, max(0.0, self.expires_at - time.time()))
            await asyncio.sleep(delay)
            if self.expires_at is not None and time.time() >= self.expires_at:
                self._end(CloseConnection(4403, "Forbidden: Token expired"))
                return
            if not self.subscriptions:
                continue
            try:
                await self._authorise()
            except CloseConnection as close:
                self._end(close)
                return
            except ConnectionGone:
                return
            except Exception:  # e.g. the database is unreachable: check again at the next interval
                log.exception("graphql_ws_credential_check_failed")

    async def _subscribe(self, message: dict[str, Any]) -> None:
        if not self.acknowledged:
            raise CloseConnection(4401, "Unauthorized")
        op_id = _message_id(message)
        payload = message.get("payload")
        if not isinstance(payload, dict):
            raise _invalid("Invalid subscribe message: 'payload' must be an object")
        try:
            params = params_from_mapping(payload)
        except TransportError as error:
            raise _invalid(f"Invalid subscribe message: {error.message}") from None
        if op_id in self.operations:
            raise CloseConnection(4409, f"Subscriber for {op_id[:60]} already exists")
        if len(self.operations) >= self.state.ws_max_operations:
            limit = error_payload("Too many operations on this connection", ErrorCode.RATE_LIMITED)
            await self._send({"id": op_id, "type": "error", "payload": limit["errors"]})
            return
        task = asyncio.create_task(self._run_operation(op_id, params), name=f"graphql-ws:{op_id[:60]}")
        self.operations[op_id] = task

    async def _run_operation(self, op_id: str, params: GraphQLParams) -> None:
        request_id = uuid.uuid4().hex
        # This task runs in its own copy of the context: these bindings stay with it.
        structlog.contextvars.bind_contextvars(
            request_id=request_id, connection_id=self.connection_id, operation_id=op_id
        )
        record = OperationRecord(self.state.metrics, transport="ws")
        status = "complete"
        try:
            principal = await self._authorise()
            status = await self._execute(op_id, params, principal, request_id, record)
        except CloseConnection as close:  # the credential has ended, and with it the connection
            record.request_failed(CREDENTIAL_ENDED, UNAUTHENTICATED)
            status = "closed"
            self._end(close)
        except asyncio.CancelledError:
            record.outcome = status = CANCELLED
            raise
        except ConnectionGone:
            record.outcome = status = CANCELLED
        except Exception:
            log.exception("graphql_ws_operation_failed")
            status = "error"
            masked = error_payload(INTERNAL_ERROR_MESSAGE, ErrorCode.INTERNAL_SERVER_ERROR, requestId=request_id)
            record.request_failed(masked["errors"], INTERNAL_ERROR)
            with suppress(Exception):
                await self._send({"id": op_id, "type": "error", "payload": masked["errors"]})
        finally:
            if self.operations.get(op_id) is asyncio.current_task():
                del self.operations[op_id]
                self.subscriptions.pop(op_id, None)
            record.finish(status)

    async def _execute(
        self, op_id: str, params: GraphQLParams, principal: Principal | None, request_id: str, record: OperationRecord
    ) -> str:
        """Run one operation to its end as `principal`; returns the message that ended it ("complete" or "error")."""
        try:
            check_query_size(params, self.state.runtime.settings.max_query_bytes)
            prepared = await self.state.engine.prepare_async(params.query, params.operation_name, principal)
        except TransportError as error:
            errors = error_payload(error.message, error.code)["errors"]
            record.request_failed(errors, REJECTED)
            await self._send({"id": op_id, "type": "error", "payload": errors})
            return "error"
        except OperationError as error:
            record.request_failed(error.errors)
            await self._send({"id": op_id, "type": "error", "payload": error.errors})
            return "error"
        record.prepared(prepared)
        engine = self.state.engine
        result: ExecutionOutcome | AsyncIterator[dict[str, Any]]
        # A shared result carries its JSON: only the operation id is spliced in (as UTF-8 for
        # the direct send, which frames it as it is). The message and its frame depend on the
        # result and the id alone: made once per event for every subscriber whose operation has
        # this id (`SharedResult.derived`, keyed by the prefix).
        next_prefix = '{"id":' + orjson.dumps(op_id).decode() + ',"type":"next","payload":'
        next_prefix_utf8 = next_prefix.encode()

        def framed(payload: SharedResult) -> tuple[bytes, bytes]:
            data = b"".join((next_prefix_utf8, payload.json(), b"}"))
            return data, text_frame(data)

        if prepared.operation_type == "subscription":
            self.subscriptions[op_id] = principal
            this = asyncio.current_task()
            send_framed = self._send_framed

            def deliver(payload: SharedResult) -> bool:
                """Send a shared result now, from the stream's loop, if nothing else is being sent."""
                if (
                    self.closed
                    or self._sending
                    or self.operations.get(op_id) is not this
                    or op_id not in self.subscriptions
                ):
                    return False
                record.result(payload)
                if send_framed is not None:
                    if send_framed(*payload.derived(next_prefix_utf8, framed)):
                        return True
                elif self._send_now is not None and self._send_now(b"".join((next_prefix_utf8, payload.json(), b"}"))):
                    return True
                carried = _run_eagerly(self._send_text(next_prefix + payload.text() + "}"))
                if carried is not None:  # the socket's buffer was full: a task finishes the send
                    self._carried.add(carried)
                    carried.add_done_callback(self._carried.discard)
                return True

            result = await engine.subscribe(prepared, params.variables, principal, request_id, deliver)
        else:
            result = await engine.execute(prepared, params.variables, principal, request_id)

        if isinstance(result, ExecutionOutcome):
            if result.request_error:
                errors = result.payload.get("errors") or []
                record.request_failed(errors)
                await self._send({"id": op_id, "type": "error", "payload": errors})
                return "error"
            record.result(result.payload)
            await self._send({"id": op_id, "type": "next", "payload": result.payload})
        else:
            try:
                async for payload in result:
                    record.result(payload)
                    if isinstance(payload, SharedResult):
                        await self._send_text(next_prefix + payload.text() + "}")
                    else:
                        await self._send({"id": op_id, "type": "next", "payload": payload})
            finally:
                # Release the event source (e.g. a Redis subscription) also when cancelled.
                aclose = getattr(result, "aclose", None)
                if aclose is not None:
                    await aclose()
        await self._send({"id": op_id, "type": "complete"})
        return "complete"

    async def _send(self, message: dict[str, Any]) -> None:
        await self._send_text(dumps(message).decode())

    async def _send_text(self, text: str) -> None:
        if self.closed:
            raise ConnectionGone
        self._sending += 1  # from now until sent, also while waiting for the lock
        try:
            async with self._send_lock:
                if self._send_now is not None and self._send_now(text):
                    return
                try:
                    await self.websocket.send({"type": "websocket.send", "text": text})
                except (WebSocketDisconnect, RuntimeError, OSError) as error:
                    self.closed = True
                    raise ConnectionGone from error
        finally:
            self._sending -= 1

    async def _close(self, code: int, reason: str) -> None:
        if self.closed:
            return
        self.closed = True
        with suppress(Exception):
            await self.websocket.close(code, reason)

    async def _stop_tasks(self, *others: asyncio.Task[None] | None) -> None:
        """Cancel every operation and the given tasks, and wait for them to end.

        `asyncio.wait`, not `gather`: if this task is cancelled meanwhile, it gets its own
        cancellation (which the server's cancel scope recognises), not a child's."""
        tasks = [*self.operations.values(), *self._carried, *(task for task in others if task is not None)]
        self.operations.clear()
        self.subscriptions.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)


def _run_eagerly(coro: Coroutine[Any, Any, None]) -> asyncio.Future[None] | None:
    """Run `coro` now, in the caller's step, up to its end or its first wait; if it waits (e.g. the
    socket's buffer is full), the task returned carries it on from there. A send that completes
    at once costs no task and no event loop turn."""
    try:
        waiting = coro.send(None)
    except StopIteration:
        return None
    except Exception:  # what the send raised (it marked the connection closed): nothing to carry on
        return None
    task = asyncio.ensure_future(_Resumed(coro, waiting))
    task.add_done_callback(lambda _: coro.close())  # e.g. cancelled before its first step
    return task


class _Resumed:
    """Awaitable that carries on a coroutine started by hand, which yielded `waiting` to its driver."""

    def __init__(self, coro: Coroutine[Any, Any, None], waiting: Any) -> None:
        self.coro = coro
        self.waiting = waiting

    def __await__(self) -> Generator[Any, None, None]:
        inner = self.coro.__await__()
        waiting = self.waiting
        while True:
            try:
                yield waiting  # the future the coroutine waits on, for the task to wait on
            except BaseException as error:  # e.g. the task is cancelled: the coroutine gets it
                step = functools.partial(inner.throw, error)
            else:
                step = functools.partial(inner.send, None)
            try:
                waiting = step()
            except StopIteration:
                return
            except Exception:  # the send failed and marked the connection closed
                return


async def graphql_ws(websocket: WebSocket) -> None:
    """The /graphql endpoint for WebSocket connections."""
    await GraphQLTransportWSConnection(websocket, transport_state(websocket)).serve()
