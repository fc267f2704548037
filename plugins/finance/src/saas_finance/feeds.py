"""Quote feeds plug in through this plugin's own hook, `fin_quote_feeds` (project `saas_finance`).

A market-data integration is a Python package registering a module under the entry point group
`saas_finance.feeds` that implements:

    from saas_finance.feeds import FeedRequest, FeedQuote, feed_hookimpl

    class Exchange:
        code = "exchange"
        name = "Example exchange"

        def fetch(self, request: FeedRequest) -> list[FeedQuote]:
            ...  # call the provider for request.symbols; return their quotes

    @feed_hookimpl
    def fin_quote_feeds() -> list[Exchange]:
        return [Exchange()]

A tenant lists the feeds to poll in its `feeds` setting (`[{"feed": "exchange", "source": …}]`);
the periodic job `finance.poll_quotes` asks each one every minute and ingests what it returns
exactly as `ingestQuotes` does (batches of up to 5,000; unknown symbols are rejected, older quotes
never replace a last price). A feed that raises is logged and skipped; the others still run.

Built in: `file` reads quotes from a CSV or JSON document at an http(s) URL on the public internet
(through the core's guarded client: an address inside the deployment's network is refused unless the
deployment allows private networks, redirects are not followed, 20 MB at most), or from a file in the
directory named by the environment variable `SAAS_FINANCE_FEED_DIR` (never elsewhere: a tenant's
settings cannot make the server read its files); `simulated` invents prices for demos and is
labelled so everywhere: its quotes are not market data.
"""

from __future__ import annotations

import csv
import io
import json
import os
import random
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pluggy

from saas.plugin_api import FetchRefused, fetch_public

PROJECT = "saas_finance"
ENTRY_POINT_GROUP = "saas_finance.feeds"
FEED_DIR_VARIABLE = "SAAS_FINANCE_FEED_DIR"
MAX_DOCUMENT_BYTES = 20 * 1024 * 1024
URL_TIMEOUT_SECONDS = 10
feed_hookspec = pluggy.HookspecMarker(PROJECT)
feed_hookimpl = pluggy.HookimplMarker(PROJECT)


@dataclass(frozen=True)
class FeedQuote:
    symbol: str
    price: Decimal
    at: datetime


@dataclass(frozen=True)
class FeedRequest:
    """What a feed is asked for: the tenant's symbols (with their last prices) and its source setting."""

    tenant_id: uuid.UUID
    symbols: tuple[str, ...]
    source: str | None
    now: datetime
    last_prices: dict[str, Decimal] = field(default_factory=dict)
    # The deployment's `allow_private_networks`: URLs of internal addresses are refused unless it is set.
    allow_private: bool = False


class FeedError(Exception):
    """The feed could not deliver (unreachable, malformed); the job logs it and goes on."""


@runtime_checkable
class QuoteFeed(Protocol):
    code: str
    name: str

    def fetch(self, request: FeedRequest) -> list[FeedQuote]: ...


class FeedSpecs:
    @feed_hookspec
    def fin_quote_feeds(self) -> list[QuoteFeed]:  # type: ignore[empty-body]
        """The quote feeds a package provides; their `code`s must be unique across packages."""


# -- the file/URL adapter -----------------------------------------------------------------------


def _decimal(value: Any) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise FeedError(f"not a number: {str(value)[:40]!r}") from None
    if not number.is_finite():
        raise FeedError("a price must be a finite number")
    return number


def _instant(value: Any) -> datetime:
    try:
        moment = datetime.fromisoformat(str(value).strip().replace("Z", "+00:00"))
    except ValueError:
        raise FeedError(f"not an ISO date-time: {str(value)[:40]!r}") from None
    if moment.tzinfo is None:
        raise FeedError("a quote's time needs a time zone")
    return moment


def parse_document(text: str) -> list[FeedQuote]:
    """Quotes from JSON (`[{"symbol", "price", "at"}]` or `{"quotes": [...]}`) or CSV with the
    header `symbol,price,at`. Prices are read as decimals, never floats."""
    stripped = text.lstrip()
    if stripped.startswith(("[", "{")):
        try:
            document = json.loads(stripped, parse_float=Decimal, parse_int=Decimal)
        except json.JSONDecodeError as error:
            raise FeedError(f"malformed JSON: {error.msg}") from None
        rows = document.get("quotes") if isinstance(document, dict) else document
        if not isinstance(rows, list) or not all(isinstance(row, dict) for row in rows):
            raise FeedError("JSON quotes are a list of {symbol, price, at}")
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
    quotes = []
    for row in rows:
        if not {"symbol", "price", "at"} <= set(row):
            raise FeedError("every quote needs symbol, price and at")
        quotes.append(FeedQuote(str(row["symbol"]).strip().upper(), _decimal(row["price"]), _instant(row["at"])))
    return quotes


def _read_source(source: str, allow_private: bool = False) -> str:
    if source.startswith(("https://", "http://")):
        # The core's guarded client: no internal addresses, no redirects, no proxies, a size limit.
        try:
            body = fetch_public(
                source, allow_private=allow_private, max_bytes=MAX_DOCUMENT_BYTES, timeout=URL_TIMEOUT_SECONDS
            )
        except FetchRefused as refused:
            raise FeedError(f"could not read {source}: {refused.failure}") from None
    else:
        root = os.environ.get(FEED_DIR_VARIABLE)
        if not root:
            raise FeedError(f"file sources need the server's {FEED_DIR_VARIABLE}")
        base = Path(root).resolve()
        path = (base / source).resolve()
        if not path.is_relative_to(base) or not path.is_file():
            raise FeedError(f"no file {source!r} in the feed directory")
        body = path.read_bytes()[: MAX_DOCUMENT_BYTES + 1]
    if len(body) > MAX_DOCUMENT_BYTES:
        raise FeedError("the document is larger than 20 MB")
    return body.decode("utf-8-sig")


class FileFeed:
    """Quotes from a CSV or JSON document at a URL or in the server's feed directory."""

    code = "file"
    name = "CSV or JSON file or URL"

    def fetch(self, request: FeedRequest) -> list[FeedQuote]:
        if not request.source:
            raise FeedError("the file feed needs a source (a URL or a file name)")
        return parse_document(_read_source(request.source, request.allow_private))


class SimulatedFeed:
    """SIMULATED PRICES FOR DEMOS — NOT MARKET DATA. Each call moves every priced symbol by a random
    step of at most ±0.5 % (decimal arithmetic, 4 decimals); symbols without a price start at 100."""

    code = "simulated"
    name = "Simulated prices (demo only, not market data)"
    MAX_STEP_BASIS_POINTS = 50

    def fetch(self, request: FeedRequest) -> list[FeedQuote]:
        rng = random.Random(f"{request.tenant_id}:{request.now.isoformat()}")
        quotes = []
        for symbol in request.symbols:
            last = request.last_prices.get(symbol, Decimal(100))
            step = Decimal(rng.randint(-self.MAX_STEP_BASIS_POINTS, self.MAX_STEP_BASIS_POINTS)) / 10_000
            price = max((last * (1 + step)).quantize(Decimal("0.0001")), Decimal("0.0001"))
            quotes.append(FeedQuote(symbol, price, request.now))
        return quotes


class _BuiltIn:
    @feed_hookimpl
    def fin_quote_feeds(self) -> list[QuoteFeed]:
        return [FileFeed(), SimulatedFeed()]


def feed_manager(load_entry_points: bool = True) -> pluggy.PluginManager:
    manager = pluggy.PluginManager(PROJECT)
    manager.add_hookspecs(FeedSpecs)
    manager.register(_BuiltIn(), name="builtin")
    if load_entry_points:
        manager.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return manager


def collect(manager: pluggy.PluginManager) -> dict[str, QuoteFeed]:
    """Feeds by code; a second feed with a taken code is refused loudly at start."""
    feeds: dict[str, QuoteFeed] = {}
    for batch in manager.hook.fin_quote_feeds():
        for feed in batch or []:
            if not isinstance(feed, QuoteFeed):
                raise TypeError(f"{feed!r} is not a quote feed (code, name, fetch)")
            if feed.code in feeds:
                raise ValueError(f"two quote feeds use the code {feed.code!r}")
            feeds[feed.code] = feed
    return feeds


@cache
def registry() -> dict[str, QuoteFeed]:
    """The installed feeds (built-in and from entry points), read once per process."""
    return collect(feed_manager())
