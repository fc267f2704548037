"""The GraphiQL page for browsers, with its scripts and styles served by this server (no CDN).

The page (`graphiql.html`) is the one strawberry-graphql ships, its asset URLs made relative
(`static/graphiql/…`, next to `/graphql`, so a path prefix in front of the app keeps working);
the assets are the published files, unchanged, in `static/graphiql/`, checked by the browser
against the page's integrity hashes. The server mounts them at `/static` when GraphiQL is on.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from saas.http.errors import HttpResponse
from saas.http.media import accepts_html
from saas.http.request import HttpRequest

HERE = Path(__file__).resolve().parent
STATIC_DIR = HERE / "static"
STATIC_PATH = "/static"
HTML_UTF8 = b"text/html; charset=utf-8"


@lru_cache(maxsize=1)
def graphiql_html() -> bytes:
    # The page needs no template values: it posts to its own URL and opens its subscriptions
    # (graphql-transport-ws) on the same URL with ws:// or wss://, sending the headers
    # editor's entries (e.g. Authorization) as the connection_init payload.
    return (HERE / "graphiql.html").read_text(encoding="utf-8").encode("utf-8")


def static_assets() -> Mount:
    """The route serving GraphiQL's scripts and styles."""
    return Mount(STATIC_PATH, app=StaticFiles(directory=STATIC_DIR), name="static")


def wants_graphiql(request: HttpRequest) -> bool:
    """A browser opening the endpoint: GET, accepting HTML, with no query to run."""
    if request.method != "GET" or "query" in request.query_params:
        return False
    return accepts_html(request.headers.get("accept"))


def graphiql_response() -> HttpResponse:
    return HttpResponse(200, graphiql_html(), HTML_UTF8)
