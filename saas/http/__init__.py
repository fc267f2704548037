"""HTTP and WebSocket transport: GraphQL over HTTP, graphql-transport-ws, health and metrics."""

from saas.http.app import create_app

__all__ = ["create_app"]
