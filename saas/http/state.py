"""What the transport's endpoints share, kept on the Starlette application's state."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import HTTPConnection

from saas.http.metrics import Metrics
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine


@dataclass(frozen=True)
class TransportState:
    runtime: Runtime
    engine: GraphQLEngine
    metrics: Metrics
    max_body_bytes: int
    ws_init_timeout: float
    ws_max_operations: int
    ws_credential_check_interval: float


def transport_state(connection: HTTPConnection) -> TransportState:
    state: TransportState = connection.app.state.transport
    return state
