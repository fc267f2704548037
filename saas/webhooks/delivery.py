"""Delivering one webhook event: a signed POST, logged, retried with backoff until a 2xx answer.

Each attempt runs in three steps, each database step its own short transaction so that the
attempt log survives a failed attempt (the job's own transaction is rolled back on failure):
1. claim — lock the delivery; skip it unless still pending (a succeeded delivery is never
   POSTed again); count the attempt and log it, committed before anything is sent (an
   earlier attempt that never got its answer recorded is marked `interrupted`);
2. POST — outside any transaction, with a timeout, not reading the response body;
3. record — complete the attempt's log row with the answer; mark the delivery succeeded
   (2xx) or, after the last allowed attempt, failed.
A worker killed during the POST thus leaves a log row for the attempt; dramatiq hands the
job to another worker (saas.jobs.broker: within REDELIVERY_BOUND_MS), which tries again.
`next_attempt_at` says until when a job for a pending delivery should be running (the
attempt's timeout, or the longest backoff before its retry); the outbox sweep sends again a
delivery overdue by more than `LOST_AFTER`, whose job message was lost.
A failed attempt raises `DeliveryFailed`, so dramatiq retries the job with exponential backoff
(`DeliveryPolicy`, passed as message options). Delivery is at least once: a receiver
deduplicates on the `X-Saas-Delivery` header.

What a runtime delivers with — the secret box for its keys, its settings (may a URL reach a
private network?) and its `DeliveryPolicy` — is a `WebhookSender` on its `Runtime`
(`Runtime.webhook_sender`). The delivery job reaches it through its `JobContext` (the runner
of the runtime's job broker hands it over), and whoever enqueues a delivery passes it along;
nothing about it is kept in this module.
"""

from __future__ import annotations

import logging
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, select, update

from saas import outbound
from saas.config import Settings
from saas.crypto import DecryptionFailed, SecretBox, secret_box
from saas.jobs.registry import JobContext, JobRejected, tenant_job
from saas.schema.relay import iso_datetime
from saas.tenancy.session import tenant_session
from saas.webhooks import signing
from saas.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery

log = logging.getLogger(__name__)
# A pending delivery this long past its `next_attempt_at` has lost its job message. Room for
# a dead worker's message to be handed out again (35 s) and for a short queue backlog.
LOST_AFTER = timedelta(minutes=1)
INTERRUPTED = "interrupted: the attempt ended before its answer was recorded"


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

    def longest_backoff(self, attempt: int) -> timedelta:
        """The longest dramatiq waits before retrying after failed attempt `attempt` (1-based):
        `min_backoff` doubled per earlier retry, up to twice that with jitter, at most `max_backoff`."""
        return timedelta(milliseconds=min(2 * self.min_backoff_ms * 2 ** max(attempt - 1, 0), self.max_backoff_ms))


# The actor's own retry options (a constant); every message carries its sender's policy instead.
DEFAULT_POLICY = DeliveryPolicy()


@dataclass
class WebhookSender:
    """What one runtime delivers webhooks with: the box that decrypts their secrets (its
    `SECRET_KEY` and retired keys), its settings (`allow_private_networks`, read at each POST)
    and its retry policy. Created by `create_runtime` (`Runtime.webhook_sender`)."""

    settings: Settings
    policy: DeliveryPolicy = DEFAULT_POLICY
    box: SecretBox = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.box = secret_box(self.settings)


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


def _claim(
    engine: Engine, tenant_id: uuid.UUID, delivery_id: uuid.UUID, box: SecretBox, policy: DeliveryPolicy
) -> Claim | None:
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
        session.execute(
            update(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery.id, WebhookAttempt.duration_ms.is_(None))
            .values(error=INTERRUPTED)
        )
        delivery.attempts += 1
        delivery.updated_at = _now()
        delivery.next_attempt_at = delivery.updated_at + timedelta(seconds=policy.timeout_seconds)
        session.add(WebhookAttempt(delivery_id=delivery.id, attempt=delivery.attempts))
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


def _post(
    claim: Claim, delivery_id: uuid.UUID, timeout: float, allow_private: bool
) -> tuple[int | None, str | None, int]:
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
    answer = outbound.post(claim.url, content=body, headers=headers, timeout=timeout, allow_private=allow_private)
    duration_ms = int((time.perf_counter() - started) * 1000)
    return answer.status_code, answer.failure, duration_ms


def _record(
    engine: Engine,
    tenant_id: uuid.UUID,
    delivery_id: uuid.UUID,
    claim: Claim,
    result: tuple[int | None, str | None, int],
    policy: DeliveryPolicy,
) -> bool:
    """Complete the attempt's log row; True when the delivery is settled (succeeded, or failed for good)."""
    code, error, duration_ms = result
    with tenant_session(engine, tenant_id) as session:
        # The delivery first, as `_claim` locks it before the attempts (no lock-order deadlock).
        delivery = session.get(WebhookDelivery, (tenant_id, delivery_id), with_for_update=True)
        assert delivery is not None  # deliveries are never deleted while their webhook lives
        session.execute(
            update(WebhookAttempt)
            .where(WebhookAttempt.delivery_id == delivery_id, WebhookAttempt.attempt == claim.attempt)
            .values(status_code=code, error=error, duration_ms=duration_ms)
        )
        delivery.last_status_code, delivery.last_error, delivery.updated_at = code, error, _now()
        if error is None:
            delivery.status, delivery.delivered_at = "succeeded", _now()
        elif claim.attempt >= policy.max_attempts and delivery.status == "pending":
            delivery.status = "failed"
        else:
            delivery.next_attempt_at = delivery.updated_at + policy.longest_backoff(claim.attempt)
        return delivery.status != "pending"


def attempt_delivery(sender: WebhookSender, engine: Engine, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> None:
    """One attempt with the sender's keys, settings and policy; raises `DeliveryFailed` when
    another one should follow."""
    policy = sender.policy
    claim = _claim(engine, tenant_id, delivery_id, sender.box, policy)
    if claim is None:
        return
    result = _post(claim, delivery_id, policy.timeout_seconds, sender.settings.allow_private_networks)
    settled = _record(engine, tenant_id, delivery_id, claim, result, policy)
    if not settled:
        raise DeliveryFailed(f"delivery {delivery_id} attempt {claim.attempt}: {result[1]}")
    if result[1] is not None:
        log.warning("webhook delivery %s failed for good after %s attempts", delivery_id, claim.attempt)


@tenant_job(
    "webhooks.deliver",
    max_retries=DEFAULT_POLICY.max_retries,
    min_backoff_ms=DEFAULT_POLICY.min_backoff_ms,
    max_backoff_ms=DEFAULT_POLICY.max_backoff_ms,
)
def deliver_webhook(ctx: JobContext, delivery_id: str) -> None:
    """POST one delivery (see the module docstring) with the runtime's sender (`ctx.webhook_sender`);
    the job's own session is left untouched."""
    if ctx.webhook_sender is None:
        raise RuntimeError("webhooks.deliver runs through a JobRunner, which hands it the webhook sender")
    try:
        raw_id = uuid.UUID(delivery_id)
    except ValueError:
        raise JobRejected(f"{delivery_id!r} is not a delivery id") from None
    attempt_delivery(ctx.webhook_sender, ctx.session.get_bind(), ctx.tenant_id, raw_id)  # type: ignore[arg-type]


def enqueue_delivery(sender: WebhookSender, tenant_id: uuid.UUID, delivery_id: uuid.UUID) -> Any:
    """Send the delivery job with the sender's retry options (dramatiq retries it by them)."""
    if deliver_webhook.actor is None:
        raise RuntimeError("webhooks.deliver is not bound to a broker (saas.jobs.broker.setup)")
    return deliver_webhook.actor.send_with_options(
        args=(str(tenant_id), str(delivery_id)),
        max_retries=sender.policy.max_retries,
        min_backoff=sender.policy.min_backoff_ms,
        max_backoff=sender.policy.max_backoff_ms,
    )
