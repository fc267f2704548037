"""Media types of GraphQL over HTTP and the negotiation of the response type from `Accept`."""

from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

GRAPHQL_RESPONSE_JSON = "application/graphql-response+json"
APPLICATION_JSON = "application/json"

# In order of preference when the client ranks them equally (e.g. `*/*`): during the
# transition period of the spec an unspecific client is assumed to be a legacy one.
RESPONSE_TYPES = (APPLICATION_JSON, GRAPHQL_RESPONSE_JSON)


class MediaRange(NamedTuple):
    type: str
    subtype: str
    quality: float
    position: int


def _parse_accept(accept: str) -> list[MediaRange]:
    ranges = []
    for position, part in enumerate(accept.split(",")):
        media, *params = (piece.strip() for piece in part.split(";"))
        kind, slash, subkind = media.lower().partition("/")
        if not slash or not kind or not subkind:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        ranges.append(MediaRange(kind, subkind, quality, position))
    return ranges


def _rank(candidate: str, ranges: list[MediaRange]) -> tuple[float, int, int] | None:
    """(quality, specificity, -position) of the most specific range matching `candidate`."""
    kind, _, subkind = candidate.partition("/")
    best: tuple[float, int, int] | None = None
    for r in ranges:
        if (r.type, r.subtype) == (kind, subkind):
            specificity = 2
        elif r.type == kind and r.subtype == "*":
            specificity = 1
        elif (r.type, r.subtype) == ("*", "*"):
            specificity = 0
        else:
            continue
        # The most specific matching range decides the quality (RFC 9110, 12.5.1).
        if best is None or specificity > best[1]:
            best = (r.quality, specificity, -r.position)
    return best


# Clients send the same few `Accept` headers again and again: each is negotiated once (bounded).
@lru_cache(maxsize=256)
def negotiate_response_type(accept: str | None) -> str | None:
    """The response media type for an `Accept` header; None when nothing we serve is acceptable."""
    if accept is None or not accept.strip():
        return APPLICATION_JSON
    ranges = _parse_accept(accept)
    ranked = []
    for preference, candidate in enumerate(RESPONSE_TYPES):
        rank = _rank(candidate, ranges)
        if rank is not None and rank[0] > 0:
            ranked.append((rank, -preference, candidate))
    if not ranked:
        return None
    return max(ranked)[2]


def accepts_html(accept: str | None) -> bool:
    return any((r.type, r.subtype) == ("text", "html") and r.quality > 0 for r in _parse_accept(accept or ""))


def parse_content_type(header: str | None) -> tuple[str, dict[str, str]]:
    """The media type (lower case) and its parameters; ("", {}) when the header is absent."""
    if not header:
        return "", {}
    media, *params = (piece.strip() for piece in header.split(";"))
    parsed = {}
    for param in params:
        name, _, value = param.partition("=")
        parsed[name.strip().lower()] = value.strip().strip('"')
    return media.lower(), parsed
