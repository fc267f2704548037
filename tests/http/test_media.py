"""Choosing the response media type from `Accept`, and reading `Content-Type`."""

from __future__ import annotations

import pytest

from saas.http.media import (
    APPLICATION_JSON,
    GRAPHQL_RESPONSE_JSON,
    accepts_html,
    negotiate_response_type,
    parse_content_type,
)


@pytest.mark.parametrize(
    ("accept", "chosen"),
    [
        (None, APPLICATION_JSON),
        ("", APPLICATION_JSON),
        ("*/*", APPLICATION_JSON),
        ("application/*", APPLICATION_JSON),
        ("application/json", APPLICATION_JSON),
        (GRAPHQL_RESPONSE_JSON, GRAPHQL_RESPONSE_JSON),
        (f"{GRAPHQL_RESPONSE_JSON}, application/json;q=0.9", GRAPHQL_RESPONSE_JSON),
        (f"application/json;q=0.9, {GRAPHQL_RESPONSE_JSON}", GRAPHQL_RESPONSE_JSON),
        (f"application/json, {GRAPHQL_RESPONSE_JSON}", APPLICATION_JSON),  # equal: the first listed
        (f"{GRAPHQL_RESPONSE_JSON}, */*", GRAPHQL_RESPONSE_JSON),  # named beats a wildcard
        (f"{GRAPHQL_RESPONSE_JSON};q=0, */*", APPLICATION_JSON),
        ("APPLICATION/JSON; charset=utf-8", APPLICATION_JSON),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", APPLICATION_JSON),
        ("text/html", None),
        ("application/json;q=0", None),
        ("application/xml, text/plain", None),
        ("garbage", None),
    ],
)
def test_negotiate_response_type(accept: str | None, chosen: str | None) -> None:
    assert negotiate_response_type(accept) == chosen


def test_accepts_html() -> None:
    assert accepts_html("text/html,*/*;q=0.8")
    assert not accepts_html("*/*")
    assert not accepts_html("text/html;q=0")
    assert not accepts_html(None)


def test_parse_content_type() -> None:
    assert parse_content_type('Application/JSON; charset="UTF-8"') == ("application/json", {"charset": "UTF-8"})
    assert parse_content_type(None) == ("", {})
