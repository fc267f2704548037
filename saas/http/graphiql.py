"""The GraphiQL page for browsers, as shipped inside the strawberry package."""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

from starlette.requests import Request
from starlette.responses import HTMLResponse

from saas.http.media import accepts_html


@lru_cache(maxsize=1)
def graphiql_html() -> str:
    # The page needs no template values: it posts to its own URL and opens its subscriptions
    # (graphql-transport-ws) on the same URL with ws:// or wss://, sending the headers
    # editor's entries (e.g. Authorization) as the connection_init payload.
    return (resources.files("strawberry") / "static" / "graphiql.html").read_text(encoding="utf-8")


def wants_graphiql(request: Request) -> bool:
    """A browser opening the endpoint: GET, accepting HTML, with no query to run."""
    if request.method != "GET" or "query" in request.query_params:
        return False
    return accepts_html(request.headers.get("accept"))


def graphiql_response() -> HTMLResponse:
    return HTMLResponse(graphiql_html())
