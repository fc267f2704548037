"""Delivering one webhook event: a signed POST, logged, retried with backoff until a 2xx answer.

Each attempt runs in three steps, each database step its own short transaction so that the
attempt log survives a failed attempt (the job's own transaction is rolled back on failure):
1. claim — lock the delivery; skip it unless still pending (a succeeded delivery is never
   POSTed again); count the attempt;
2. POST — outside any transaction, with a timeout, not reading the response body;
3. record — log the attempt; mark the delivery succeeded (2xx) or, after the last allowed
   attempt, failed.
A failed attempt raises `DeliveryFailed`, so dramatiq retries the job with exponential backoff
(`DeliveryPolicy`, passed as message options). Delivery is at least once: a receiver
deduplicates on the `X-Saas-Delivery` header.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine, select

from saas import outbound
from saas.config import Settings
from saas.crypto import DecryptionFailed, SecretBox, secret_box
from saas.jobs.registry import JobContext, JobRejected, tenant_job
from saas.schema.relay import iso_datetime
from saas.tenancy.session import tenant_session
from saas.webhooks import signing
from saas.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DeliveryPolicy:
    """How hard we try: `max_retries` retries after the first attempt, backoff doubling from min to max."""

    timeout_seconds: float = 10.0
    max_retries: int = 8
    min_backoff_ms: int = 1_000
    max_backoff_ms: int = 600_000

    @property
    def max_attempts(self) -> int:
        return self.max_retries + 1

    @property
    def stale_after_seconds(self) -> float:
        """A pending delivery untouched this long has lost its job message; it is enqueued again."""
        return 2 * self.max_backoff_ms / 1000 + 2 * self.timeout_seconds + 60


policy = DeliveryPolicy()
_box: SecretBox | None = None
_settings: Settings | None = None


def configure(settings: Settings, delivery_policy: DeliveryPolicy | None = None) -> None:
    """Called once per process at start (`saas.events.pipeline.install`)."""
    global _box, _settings, policy
    _box = secret_box(settings)
    _settings = settings
    if delivery_policy is not None:
        policy = delivery_policy


class DeliveryFailed(Exception):
    """The receiver did not answer 2xx in time; the job is retried with backoff."""


@dataclass(frozen=True)
class Claim:
    attempt: int
    url: str
    secret: str
    body_fields: dict[str, Any]
    event_type: str


def _now() -> datetime:
    return datetime.now(UTC)


def _usable_secret(webhook: Webhook | None, box: SecretBox) -> tuple[str | None, str | None]:
    """(the plain secret, None), or (None, why the delivery can never be made)."""
    if webhook is None or webhook.deleted_at is not None:
        return None, "webhook deleted"
    try:
        return box.decrypt(webhook.secret_encrypted), None
    except DecryptionFailed:
        return None, "webhook secret cannot be decrypted with the configured keys"


def _claim(engine: Engine, tenant_id: uuid.UUID, delivery_id: uuid.UUID, box: SecretBox) -> Claim | None:
    """Count one more attempt of a pending delivery; None when there is nothing to send."""
    with tenant_session(engine, tenant_id) as session:
        delivery = session.scalars(
            select(WebhookDelivery).where(WebhookDelivery.id == delivery_id).with_for_update()
        ).first()
        if delivery is None or delivery.status != "pending":
            return None
        webhook = session.get(Webhook, (tenant_id, delivery.webhook_id))
        secret, problem = _usable_secret(webhook, box)
        if webhook is None or secret is None:
            delivery.status, delivery.last_error, delivery.updated_at = "failed", problem, _now()
            return None
        delivery.attempts += 1
        delivery.updated_at = _now()
        return Claim(
            attempt=delivery.attempts,
            url=webhook.url,
            secret=secret,
            event_type=delivery.event_type,
            body_fields={
                "delivery_id": str(delivery.id),
                "event_id": str(delivery.event_id),
                "event_type": delivery.event_type,
                "occurred_at": iso_datetime(delivery.occurred_at),
                "data": delivery.payload,
            },
        )


def _post(claim: Claim, delivery_id: uuid.UUID, timeout: float) -> tuple[int | None, str | None, int]:
    """(status code, error class, duration ms); never raises for network trouble.

    The URL is checked again here, after DNS resolution, and the request goes to the address
    that was checked (`saas.outbound.post`): a URL stored while allowed, or a name that now
    resolves inside, reaches nothing internal. The error is a class of failure, never a
    resolver's or socket's message.
    """
    sent_at = int(time.time())
    body = signing.envelope(**claim.body_fields, sent_at=sent_at)
    headers = signing.headers(
        claim.secret, body, event_type=claim.event_type, delivery_id=str(delivery_id), sent_at=sent_at
    )
    started = time.perf_counter()
    allow_private = _settings is not None and _settings.allow_private_networks
    answer = outbound.post(claim.url, content=body, headers=headers, timeout=timeout, allow_private=allow_private)
    duration_ms = int((time.perf_counter() - started) * 1000)
    return answer.status_code, answer.failure, duration_ms


def _record(
    engine: Engine,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    claim: Claim,
    result: tuple[int | None, str | None, int],
) -> bool:
    """Log the attempt; True when the delivery is settled (succeeded, or failed for good)."""
    code, error, duration_ms = result
    with tenant_session(engine, tenant_id) as session:
        session.add(
            WebhookAttempt(
                delivery_id=delivery_id, attempt=claim.attempt, status_code=code, error=error, duration_ms=duration_ms
            )
        )
        delivery = session.get(WebhookDelivery, (tenant_id, delivery_id), with_for_update=True)
        assert delivery is not None  # deliveries are never deleted while their webhook lives
        delivery.last_status_code, delivery.last_error, delivery.updated_at = code, error, _now()
        if error is None:
            delivery.status, delivery.delivered_at = "succeeded", _now()
        elif claim.attempt >= policy.max_attempts and delivery.status == "pending":
            delivery.status = "failed"
        return delivery.status != "pending"


def attempt_delivery(engine: Engine, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    """One attempt; raises `DeliveryFailed` when another one should follow."""
    if _box is None:
        raise RuntimeError("webhook delivery is not configured (saas.events.pipeline.install)")
    claim = _claim(engine, tenant_id, delivery_id, _box)
    if claim is None:
        return
    result = _post(claim, delivery_id, policy.timeout_seconds)
    settled = _record(engine, tenant_id, delivery_id, claim, result)
    if not settled:
        raise DeliveryFailed(f"delivery {delivery_id} attempt {claim.attempt}: {result[1]}")
    if result[1] is not None:
        log.warning("webhook delivery %s failed for good after %s attempts", delivery_id, claim.attempt)


@tenant_job(
    "webhooks.deliver",
    max_retries=policy.max_retries,
    min_backoff_ms=policy.min_backoff_ms,
    max_backoff_ms=policy.max_backoff_ms,
)
def deliver_webhook(ctx: JobContext, delivery_id: str) -> None:
    """POST one delivery (see the module docstring); the job's own session is left untouched."""
    try:
        raw_id = uuid.UUID(delivery_id)
    except ValueError:
        raise JobRejected(f"{delivery_id!r} is not a delivery id") from None
    attempt_delivery(ctx.session.get_bind(), ctx.tenant_id, raw_id)  # type: ignore[arg-type]


def enqueue_delivery(tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    """Send the delivery job with the current policy's retry options."""
    if deliver_webhook.actor is None:
        raise RuntimeError("webhooks.deliver is not bound to a broker (saas.jobs.broker.setup)")
    deliver_webhook.actor.send_with_options(
        args=(str(tenant_id), str(delivery_id)),
        max_retries=policy.max_retries,
        min_backoff=policy.min_backoff_ms,
        max_backoff=policy.max_backoff_ms,
    )
