"""Instruments and quotes: last price, previous close and daily closes, out-of-order quotes, batches,
rejections, feeds and the polling job, isolation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fin_helpers import (
    CREATE_INSTRUMENT,
    HISTORY,
    INGEST,
    INSTRUMENTS,
    count_rows,
    enable,
    ingest,
    instrument,
    refused,
)
from saas_finance import feeds
from saas_finance.jobs import poll_quotes

from saas.plugin_api import JobContext


def _node(client: Any, symbol: str) -> dict[str, Any]:
    edges = client.data(INSTRUMENTS, {"filter": {"search": symbol}})["instruments"]["edges"]
    return next(e["node"] for e in edges if e["node"]["symbol"] == symbol)


def test_last_price_previous_close_and_change(fin: Any) -> None:
    instrument(fin, "ACME")
    ingest(fin, [
        ("ACME", "10.00", "2026-03-02T09:00:00Z"),
        ("ACME", "10.40", "2026-03-02T16:00:00Z"),  # the close of 2 March
        ("ACME", "10.92", "2026-03-03T11:00:00Z"),
    ])  # fmt: skip
    node = _node(fin, "ACME")
    # change = 10.92 - 10.40 = 0.52; in percent of 10.40: 5.00
    assert {k: node[k] for k in ("lastPrice", "lastPriceAt", "previousClose", "change", "changePercent")} == {
        "lastPrice": "10.92000000",
        "lastPriceAt": "2026-03-03T11:00:00.000000+00:00",
        "previousClose": "10.40000000",
        "change": "0.52000000",
        "changePercent": "5.00",
    }


def test_an_out_of_order_quote_never_overwrites_the_last_price(fin: Any) -> None:
    acme = instrument(fin, "ACME")
    ingest(fin, [("ACME", "12.00", "2026-03-03T15:00:00Z")])
    # Older than the last: accepted, it sets its day's close, but the last price stays.
    payload = ingest(fin, [("ACME", "11.00", "2026-03-03T14:00:00Z"), ("ACME", "9.00", "2026-03-02T16:00:00Z")])
    assert payload["accepted"] == 2
    node = _node(fin, "ACME")
    assert (node["lastPrice"], node["previousClose"]) == ("12.00000000", "9.00000000")
    # Within one batch, order does not matter either: the newest wins.
    ingest(fin, [("ACME", "13.00", "2026-03-03T17:00:00Z"), ("ACME", "1.00", "2026-03-03T16:00:00Z")])
    assert _node(fin, "ACME")["lastPrice"] == "13.00000000"
    history = fin.data(HISTORY, {"id": acme, "from": "2026-03-01", "to": "2026-03-31"})["priceHistory"]
    assert history == [{"on": "2026-03-02", "close": "9.00000000"}, {"on": "2026-03-03", "close": "13.00000000"}]


def test_concurrent_batches_leave_the_newest_price(fin: Any) -> None:
    from fin_helpers import run_concurrently

    instrument(fin, "ACME")
    base = datetime(2026, 3, 3, 12, tzinfo=UTC)
    batches = [
        {
            "input": {
                "quotes": [{"symbol": "ACME", "price": str(100 + n), "at": (base + timedelta(seconds=n)).isoformat()}]
            }
        }
        for n in range(8)
    ]
    results = run_concurrently(fin, INGEST, list(reversed(batches)))
    assert all(r["data"]["ingestQuotes"]["accepted"] == 1 for r in results)
    assert _node(fin, "ACME")["lastPrice"] == "107.00000000"


def test_rejections_name_the_quote_and_the_reason(fin: Any) -> None:
    instrument(fin, "ACME")
    future = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    payload = ingest(fin, [
        ("ACME", "1", "2026-03-02T10:00:00Z"),
        ("NOPE", "1", "2026-03-02T10:00:00Z"),
        ("ACME", "0", "2026-03-02T10:00:00Z"),
        ("ACME", "-3", "2026-03-02T10:00:00Z"),
        ("ACME", "2", future),
        ("acme", "3", "2026-03-02T11:00:00Z"),  # symbols are matched in upper case
    ])  # fmt: skip
    assert payload["accepted"] == 2
    assert payload["rejected"] == [
        {"index": 1, "symbol": "NOPE", "reason": "UNKNOWN_SYMBOL"},
        {"index": 2, "symbol": "ACME", "reason": "INVALID_PRICE"},
        {"index": 3, "symbol": "ACME", "reason": "INVALID_PRICE"},
        {"index": 4, "symbol": "ACME", "reason": "INVALID_TIME"},
    ]
    assert _node(fin, "ACME")["lastPrice"] == "3.00000000"


def test_a_full_batch_takes_a_few_statements_and_a_bigger_one_is_refused(fin: Any, tenant: Any) -> None:
    symbols = [f"S{n:03d}" for n in range(50)]
    for symbol in symbols:
        instrument(fin, symbol)
    start = datetime(2026, 1, 1, 16, tzinfo=UTC)
    quotes = [(symbols[n % 50], str(10 + n % 7), (start + timedelta(days=n // 50)).isoformat()) for n in range(5_000)]
    small = ingest(fin, quotes[:50])
    small_statements = fin.last_statements
    payload = ingest(fin, quotes)
    assert payload["accepted"] == 5_000 and small["accepted"] == 50
    assert fin.last_statements == small_statements  # the same few statements for 50 or 5,000 quotes
    assert count_rows(tenant, "fin_daily_closes") == 5_000
    too_many = {"input": {"quotes": [{"symbol": s, "price": p, "at": a} for s, p, a in quotes + quotes[:1]]}}
    assert refused(fin, INGEST, too_many, "ingestQuotes") == [(["input", "quotes"], "TOO_MANY_QUOTES")]


@pytest.mark.parametrize(
    ("values", "field", "code"),
    [
        ({"symbol": "", "name": "X", "currency": "EUR"}, "symbol", "REQUIRED"),
        ({"symbol": "X" * 33, "name": "X", "currency": "EUR"}, "symbol", "TOO_LONG"),
        ({"symbol": "A B", "name": "X", "currency": "EUR"}, "symbol", "INVALID"),
        ({"symbol": "OK", "name": "", "currency": "EUR"}, "name", "REQUIRED"),
        ({"symbol": "OK", "name": "N" * 201, "currency": "EUR"}, "name", "TOO_LONG"),
        ({"symbol": "OK", "name": "X", "currency": "eur1"}, "currency", "INVALID"),
        ({"symbol": "TAKEN", "name": "X", "currency": "EUR"}, "symbol", "TAKEN"),
    ],
)
def test_create_instrument_refuses_bad_input(
    fin: Any, tenant: Any, values: dict[str, str], field: str, code: str
) -> None:
    instrument(fin, "TAKEN")
    variables = {"input": {"assetClass": "EQUITY", **values}}
    assert refused(fin, CREATE_INSTRUMENT, variables, "createInstrument") == [(["input", field], code)]
    assert count_rows(tenant, "fin_instruments") == 1
    wrong_type = {"input": {**variables["input"], "assetClass": "STAMPS"}}
    assert fin.error_codes(CREATE_INSTRUMENT, wrong_type) == ["BAD_USER_INPUT"]


def test_instruments_page_by_symbol_and_filter(fin: Any) -> None:
    for symbol, asset_class in (("B1", "BOND"), ("E1", "EQUITY"), ("E2", "EQUITY"), ("F1", "FUND"), ("E3", "EQUITY")):
        instrument(fin, symbol, asset_class)
    seen, after = [], None
    while True:
        page = fin.data(INSTRUMENTS, {"first": 2, "after": after})["instruments"]
        seen += [e["node"]["symbol"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == ["B1", "E1", "E2", "E3", "F1"]
    equities = fin.data(INSTRUMENTS, {"filter": {"assetClass": "EQUITY", "search": "e"}})["instruments"]["edges"]
    assert [e["node"]["symbol"] for e in equities] == ["E1", "E2", "E3"]
    fin.data(INSTRUMENTS, {"first": 1})
    one = fin.last_statements
    fin.data(INSTRUMENTS, {"first": 5})
    assert fin.last_statements == one


def test_another_tenant_sees_no_instrument_and_cannot_quote_or_read_it(fin: Any, other_fin: Any) -> None:
    acme = instrument(fin, "ACME")
    ingest(fin, [("ACME", "5", "2026-03-02T10:00:00Z")])
    assert other_fin.data(INSTRUMENTS)["instruments"]["edges"] == []
    assert other_fin.error_codes(HISTORY, {"id": acme, "from": "2026-03-01", "to": "2026-03-05"}) == ["NOT_FOUND"]
    payload = ingest(other_fin, [("ACME", "99", "2026-03-03T10:00:00Z")])
    assert payload["rejected"] == [{"index": 0, "symbol": "ACME", "reason": "UNKNOWN_SYMBOL"}]
    assert _node(fin, "ACME")["lastPrice"] == "5.00000000"
    # The same symbol in the other tenant is its own instrument.
    instrument(other_fin, "ACME")
    ingest(other_fin, [("ACME", "99", "2026-03-03T10:00:00Z")])
    assert _node(fin, "ACME")["lastPrice"] == "5.00000000"


def test_price_history_range_is_bounded(fin: Any) -> None:
    acme = instrument(fin, "ACME")
    assert fin.error_codes(HISTORY, {"id": acme, "from": "2026-03-05", "to": "2026-03-01"}) == ["BAD_USER_INPUT"]
    assert fin.error_codes(HISTORY, {"id": acme, "from": "2000-01-01", "to": "2026-03-01"}) == ["BAD_USER_INPUT"]


# -- feeds and the polling job ------------------------------------------------------------------


def test_the_file_feed_reads_csv_and_json_as_decimals() -> None:
    csv_quotes = feeds.parse_document("symbol,price,at\nacme,10.10,2026-03-02T10:00:00Z\n")
    json_quotes = feeds.parse_document(
        '{"quotes": [{"symbol": "ACME", "price": 0.1, "at": "2026-03-02T10:00:00+01:00"}]}'
    )
    assert [(q.symbol, q.price) for q in csv_quotes + json_quotes] == [
        ("ACME", Decimal("10.10")),
        ("ACME", Decimal("0.1")),
    ]
    assert all(isinstance(q.price, Decimal) for q in csv_quotes + json_quotes)
    for bad in ("[1, 2]", '[{"symbol": "A", "price": "x", "at": "2026-03-02T10:00:00Z"}]', "symbol,price\nA,1\n",
                '[{"symbol": "A", "price": 1, "at": "2026-03-02T10:00:00"}]', "{"):  # fmt: skip
        with pytest.raises(feeds.FeedError):
            feeds.parse_document(bad)


def test_file_sources_stay_inside_the_feed_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    request = feeds.FeedRequest(
        tenant_id=__import__("uuid").uuid4(), symbols=(), source="../secret.csv", now=datetime.now(UTC)
    )
    monkeypatch.delenv(feeds.FEED_DIR_VARIABLE, raising=False)
    with pytest.raises(feeds.FeedError, match="SAAS_FINANCE_FEED_DIR"):
        feeds.FileFeed().fetch(request)
    (tmp_path / "feed").mkdir()
    (tmp_path / "secret.csv").write_text("symbol,price,at\nA,1,2026-03-02T10:00:00Z\n")
    monkeypatch.setenv(feeds.FEED_DIR_VARIABLE, str(tmp_path / "feed"))
    with pytest.raises(feeds.FeedError, match="no file"):
        feeds.FileFeed().fetch(request)


@pytest.fixture
def feed_server() -> Any:
    """A local HTTP server: `/prices.csv` (two quotes), `/huge` (over the size limit), `/moved` (a redirect)."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/prices.csv")
                self.end_headers()
                return
            body = (
                b"x" * (feeds.MAX_DOCUMENT_BYTES + 1)
                if self.path == "/huge"
                else b"symbol,price,at\nACME,10.10,2026-03-02T10:00:00Z\nBOLT,0.0001,2026-03-02T10:00:00Z\n"
            )
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def _url_request(url: str, allow_private: bool) -> feeds.FeedRequest:
    return feeds.FeedRequest(
        tenant_id=__import__("uuid").uuid4(), symbols=(), source=url, now=datetime.now(UTC), allow_private=allow_private
    )


def test_feed_urls_inside_the_network_are_refused_unless_the_deployment_allows_them(feed_server: str) -> None:
    with pytest.raises(feeds.FeedError, match="address not allowed"):
        feeds.FileFeed().fetch(_url_request(f"{feed_server}/prices.csv", allow_private=False))
    for internal in ("http://169.254.169.254/latest/meta-data/", "http://[::1]/", "http://10.0.0.1/"):
        with pytest.raises(feeds.FeedError, match="address not allowed"):
            feeds.FileFeed().fetch(_url_request(internal, allow_private=False))
    quotes = feeds.FileFeed().fetch(_url_request(f"{feed_server}/prices.csv", allow_private=True))
    assert [(q.symbol, q.price) for q in quotes] == [("ACME", Decimal("10.10")), ("BOLT", Decimal("0.0001"))]


def test_feed_urls_are_not_redirected_and_have_a_size_limit(feed_server: str) -> None:
    with pytest.raises(feeds.FeedError, match="HTTP 302"):
        feeds.FileFeed().fetch(_url_request(f"{feed_server}/moved", allow_private=True))
    with pytest.raises(feeds.FeedError, match="answer too large"):
        feeds.FileFeed().fetch(_url_request(f"{feed_server}/huge", allow_private=True))


def test_a_package_adds_a_feed_through_the_plugin_hook() -> None:
    class Fixed:
        code = "fixed"
        name = "Fixed prices"

        def fetch(self, request: feeds.FeedRequest) -> list[feeds.FeedQuote]:
            return [feeds.FeedQuote(s, Decimal(1), request.now) for s in request.symbols]

    class Package:
        @feeds.feed_hookimpl
        def fin_quote_feeds(self) -> list[Any]:
            return [Fixed()]

    manager = feeds.feed_manager(load_entry_points=False)
    manager.register(Package())
    assert sorted(feeds.collect(manager)) == ["file", "fixed", "simulated"]
    manager.register(type("Clash", (), {"fin_quote_feeds": feeds.feed_hookimpl(lambda self: [Fixed()])})())
    with pytest.raises(ValueError, match="fixed"):
        feeds.collect(manager)


def _poll(tenant: Any) -> int:
    with tenant.session() as session:
        accepted = poll_quotes.function(JobContext(tenant_id=tenant.id, session=session, message_id="test"))
        session.commit()
    return int(accepted)


def test_the_job_polls_the_configured_feeds(
    fin: Any, tenant: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    instrument(fin, "ACME")
    instrument(fin, "BOND1", "BOND")
    assert _poll(tenant) == 0  # no feeds configured
    monkeypatch.setenv(feeds.FEED_DIR_VARIABLE, str(tmp_path))
    document = [
        {"symbol": "ACME", "price": "20.5", "at": "2026-03-02T10:00:00Z"},
        {"symbol": "ZZZ", "price": 1, "at": "2026-03-02T10:00:00Z"},
    ]
    (tmp_path / "prices.json").write_text(json.dumps(document))
    enable(fin, {"feeds": [{"feed": "file", "source": "prices.json"}, {"feed": "file", "source": "missing.csv"}]})
    assert _poll(tenant) == 1  # the broken feed is skipped; ZZZ is rejected
    assert _node(fin, "ACME")["lastPrice"] == "20.50000000"
    enable(fin, {"feeds": [{"feed": "simulated"}]})
    assert _poll(tenant) == 2  # SIMULATED prices for every instrument (ACME moves from 20.50, BOND1 starts at 100)
    moved = Decimal(_node(fin, "ACME")["lastPrice"])
    assert abs(moved - Decimal("20.5")) <= Decimal("20.5") * Decimal("0.005")
    assert Decimal(_node(fin, "BOND1")["lastPrice"]) > 0


def test_only_installed_feeds_can_be_configured(fin: Any) -> None:
    from fin_helpers import ENABLE

    variables = {"input": {"name": "finance", "settings": {"feeds": [{"feed": "nonexistent"}]}}}
    errors = refused(fin, ENABLE, variables, "enablePlugin")
    assert errors and all(code == "INVALID" and field[:2] == ["input", "settings"] for field, code in errors)
    variables = {"input": {"name": "finance", "settings": {"costMethod": "LIFO"}}}
    assert refused(fin, ENABLE, variables, "enablePlugin")


def test_the_job_ingests_only_for_its_tenant(fin: Any, other_fin: Any, other_tenant: Any, tenant: Any) -> None:
    instrument(fin, "ACME")
    instrument(other_fin, "ACME")
    enable(fin, {"feeds": [{"feed": "simulated"}]})
    assert _poll(tenant) == 1
    assert _node(other_fin, "ACME")["lastPrice"] is None
    assert count_rows(other_tenant, "fin_daily_closes") == 0


def test_price_history_is_one_statement_at_any_length_with_the_services_answer(fin: Any, other_fin: Any) -> None:
    acme = instrument(fin, "ACME")
    ingest(fin, [("ACME", f"{day}.50", f"2026-03-{day:02d}T17:00:00Z") for day in range(2, 12)])
    short = fin.data(HISTORY, {"id": acme, "from": "2026-03-01", "to": "2026-03-03"})["priceHistory"]
    assert fin.last_statements == 1
    longer = fin.data(HISTORY, {"id": acme, "from": "2026-03-01", "to": "2026-03-31"})["priceHistory"]
    assert fin.last_statements == 1
    assert short == [{"on": "2026-03-02", "close": "2.50000000"}, {"on": "2026-03-03", "close": "3.50000000"}]
    assert longer[:2] == short and [p["on"] for p in longer] == [f"2026-03-{d:02d}" for d in range(2, 12)]
    assert fin.data(HISTORY, {"id": acme, "from": "2026-04-01", "to": "2026-04-30"})["priceHistory"] == []
    assert fin.error_codes(HISTORY, {"id": acme, "from": "2026-03-31", "to": "2026-03-01"}) == ["BAD_USER_INPUT"]
    # Another tenant: NOT_FOUND for the instrument, as for one that exists nowhere.
    assert other_fin.error_codes(HISTORY, {"id": acme, "from": "2026-03-01", "to": "2026-03-31"}) == ["NOT_FOUND"]
    instrument(other_fin, "ACME")
    assert other_fin.error_codes(HISTORY, {"id": acme, "from": "2026-03-01", "to": "2026-03-31"}) == ["NOT_FOUND"]
