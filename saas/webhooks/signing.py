"""What a webhook receiver gets: the JSON body, its headers, and the HMAC-SHA256 signature.

    X-Saas-Event: customer.created
    X-Saas-Delivery: <delivery id>        (the same on every retry: deduplicate on it)
    X-Saas-Timestamp: <unix seconds>      (also `sentAt` inside the signed body)
    X-Saas-Signature: sha256=<hex HMAC-SHA256 of the raw body, keyed with the webhook secret>

A receiver recomputes the HMAC over the raw body bytes, compares in constant time
(`verify_signature`), and may refuse a `sentAt` too far in the past to stop replays.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Any

import orjson

SIGNATURE_HEADER = "X-Saas-Signature"
EVENT_HEADER = "X-Saas-Event"
DELIVERY_HEADER = "X-Saas-Delivery"
TIMESTAMP_HEADER = "X-Saas-Timestamp"
SIGNATURE_PREFIX = "sha256="


def sign(secret: str, body: bytes) -> str:
    """The value of the signature header for `body`."""
    return SIGNATURE_PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(secret: str, body: bytes, header: str | None) -> bool:
    return header is not None and hmac.compare_digest(sign(secret, body), header)


def envelope(
    *, delivery_id: str, event_id: str, event_type: str, occurred_at: str, data: dict[str, Any], sent_at: int
) -> bytes:
    """The body of a POST: the event with its data, as compact JSON."""
    return orjson.dumps(
        {
            "id": delivery_id,
            "event": {"id": event_id, "type": event_type, "occurredAt": occurred_at, "data": data},
            "sentAt": sent_at,
        }
    )


def headers(secret: str, body: bytes, *, event_type: str, delivery_id: str, sent_at: int) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "User-Agent": "saas-webhooks/1",
        EVENT_HEADER: event_type,
        DELIVERY_HEADER: delivery_id,
        TIMESTAMP_HEADER: str(sent_at),
        SIGNATURE_HEADER: sign(secret, body),
    }
