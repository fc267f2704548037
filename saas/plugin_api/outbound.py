"""Signed messages from a plugin to a partner's endpoint (e.g. a supplier), as the core signs webhooks.

A plugin keeps the endpoint's secret sealed (`seal_secret`: encrypted with the deployment's keys,
which rotate like webhook secrets) and sends from a job with retries (`tenant_job(max_retries=…)`):
`post_signed` makes one attempt through the same guarded client as webhook delivery (no internal
addresses unless the deployment allows them, errors only as a class of failure) and returns the
failure class, so the job raises to be retried with backoff.

`fetch_public` reads a document from a URL a tenant gave (a price feed, a catalogue) through the same
guard: no internal addresses unless the deployment allows them, no redirects, a size limit.
"""

from __future__ import annotations

import time
from typing import Any

from saas import outbound
from saas.jobs.registry import JobContext
from saas.schema.context import RequestContext
from saas.schema.relay import iso_datetime
from saas.webhooks import signing


def seal_secret(context: RequestContext, plain: str) -> str:
    """`plain` encrypted with the runtime's keys, for a plugin's column (never log or show it)."""
    return context.runtime.webhook_sender.box.encrypt(plain)


def post_signed(
    ctx: JobContext,
    url: str,
    *,
    sealed_secret: str,
    event_type: str,
    message_id: str,
    occurred_at: Any,
    data: dict[str, Any],
) -> str | None:
    """POST `data` in the webhook envelope, signed with the unsealed secret (`X-Saas-Signature`,
    `X-Saas-Delivery: message_id` for the receiver's deduplication). None on a 2xx answer, else
    the class of failure (`timeout`, `HTTP 503`, `address not allowed`, …)."""
    sender = ctx.webhook_sender
    if sender is None:
        raise RuntimeError("post_signed runs in a job of the runtime's worker, which hands over the sender")
    secret = sender.box.decrypt(sealed_secret)
    sent_at = int(time.time())
    body = signing.envelope(
        delivery_id=message_id,
        event_id=message_id,
        event_type=event_type,
        occurred_at=iso_datetime(occurred_at),
        data=data,
        sent_at=sent_at,
    )
    headers = signing.headers(secret, body, event_type=event_type, delivery_id=message_id, sent_at=sent_at)
    answer = outbound.post(
        url,
        content=body,
        headers=headers,
        timeout=sender.policy.timeout_seconds,
        allow_private=sender.settings.allow_private_networks,
    )
    return answer.failure


class FetchRefused(Exception):
    """`fetch_public` got no usable answer; `failure` is the class (`address not allowed`, `HTTP 404`, …)."""

    def __init__(self, failure: str) -> None:
        super().__init__(failure)
        self.failure = failure


def fetch_public(url: str, *, allow_private: bool = False, max_bytes: int, timeout: float = 10.0) -> bytes:
    """The body of a 2xx answer to GET `url`, at most `max_bytes`; else `FetchRefused`.

    Pass the deployment's `allow_private_networks` (a job has it as `ctx.webhook_sender.settings`);
    the default refuses every loopback, private, link-local and reserved address."""
    fetched = outbound.get(url, timeout=timeout, allow_private=allow_private, max_bytes=max_bytes)
    if fetched.failure is not None:
        raise FetchRefused(fetched.failure)
    return fetched.body
