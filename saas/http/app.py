"""The ASGI application: /graphql (HTTP and WebSocket), /healthz, /readyz, /metrics, /downloads,
/campaigns/inbound, GraphiQL's /static.

HTTP requests on /graphql go straight to `GraphQLEndpoint`, ahead of Starlette's middleware and
router (the hot path: one ASGI call, no `Request` or `Response` objects, no wrapped `send`);
everything else, /graphql's WebSocket included, goes through Starlette and
`RequestContextMiddleware`."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.routing import Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from saas.http.campaigns import INBOUND_ROUTE, campaign_inbound
from saas.http.downloads import DOWNLOAD_ROUTE, download_file
from saas.http.graphiql import static_assets
from saas.http.graphql_http import ROUTE_METHODS, GraphQLEndpoint, RoutedGraphQLEndpoint
from saas.http.health import healthz, metrics, readyz
from saas.http.metrics import Metrics
from saas.http.middleware import RequestContextMiddleware
from saas.http.state import TransportState
from saas.http.websocket import graphql_ws
from saas.runtime import Runtime
from saas.schema.engine import GraphQLEngine

GRAPHQL_PATH = "/graphql"
# Room for variables next to the largest query allowed.
VARIABLES_BYTES = 1024 * 1024
WS_INIT_TIMEOUT_SECONDS = 10.0
WS_MAX_OPERATIONS = 100


class Application(Starlette):
    """Starlette, with HTTP requests on /graphql answered before its middleware and router."""

    def __init__(self, graphql: GraphQLEndpoint, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.graphql = graphql
        self.graphql_methods = frozenset(ROUTE_METHODS)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # Under a `root_path` the router decides which path is /graphql (`RoutedGraphQLEndpoint`);
        # other methods get the router's 405.
        if (
            scope["type"] == "http"
            and scope["path"] == GRAPHQL_PATH
            and not scope.get("root_path")
            and scope["method"] in self.graphql_methods
        ):
            scope["app"] = self
            await self.graphql(scope, receive, send)
        else:
            await super().__call__(scope, receive, send)


def create_app(
    runtime: Runtime,
    engine: GraphQLEngine,
    *,
    max_body_bytes: int | None = None,
    ws_init_timeout: float = WS_INIT_TIMEOUT_SECONDS,
    ws_max_operations: int = WS_MAX_OPERATIONS,
    ws_credential_check_interval: float | None = None,
) -> Starlette:
    """Build the application; logging is configured by the caller (`saas.http.logs.configure_logging`).

    `ws_credential_check_interval`: how often the credential of a socket with running
    subscriptions is checked again; by default the credential cache's window."""
    state = TransportState(
        runtime=runtime,
        engine=engine,
        metrics=Metrics(),
        max_body_bytes=max_body_bytes or runtime.settings.max_query_bytes + VARIABLES_BYTES,
        ws_init_timeout=ws_init_timeout,
        ws_max_operations=ws_max_operations,
        ws_credential_check_interval=ws_credential_check_interval or runtime.credentials.ttl_seconds,
    )
    routes = [
        Route(GRAPHQL_PATH, RoutedGraphQLEndpoint(state), methods=ROUTE_METHODS),
        WebSocketRoute(GRAPHQL_PATH, graphql_ws),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics),
        Route(DOWNLOAD_ROUTE, download_file, methods=["GET"]),
        Route(INBOUND_ROUTE, campaign_inbound, methods=["POST"]),
    ]
    if runtime.settings.graphiql:
        routes.append(static_assets())  # GraphiQL's scripts and styles, served here: no CDN
    paths = frozenset(str(getattr(route, "path", "")) for route in routes)

    @contextlib.asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        # Cost charges from this worker's event loop go through an asyncio Redis client: no
        # worker-thread hop per request (`saas.quota.budget.TenantBudget`).
        await runtime.budget.open(runtime.redis_url)
        try:
            yield
        finally:
            await runtime.budget.close()

    app = Application(
        GraphQLEndpoint(state, GRAPHQL_PATH),
        lifespan=lifespan,
        routes=routes,
        middleware=[Middleware(RequestContextMiddleware, metrics=state.metrics, paths=paths)],
    )
    app.state.transport = state
    return app
