"""Managing a tenant's webhooks and reading their delivery log (owners and admins)."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit.log import record_change
from saas.auth.permissions import WEBHOOKS_MANAGE, require
from saas.auth.principal import Principal
from saas.crypto import SecretBox
from saas.db.paging import Page, keyset_page
from saas.errors import FieldError, NotFoundError, UserErrorCode
from saas.events.catalog import is_known_pattern, plugins_needed
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.outbound import reaches_internal
from saas.validation import Checker, has_control_characters
from saas.webhooks.graphql.types import Webhook as WebhookType
from saas.webhooks.models import Webhook, WebhookAttempt, WebhookDelivery

MAX_URL_LENGTH = 2000
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 200
MAX_EVENTS = 50


def _check_url(check: Checker, value: Any, allow_private: bool) -> None:
    if not isinstance(value, str) or not value.strip():
        check.fail("url", UserErrorCode.REQUIRED, "url is required")
        return
    url = value.strip()
    if len(url) > MAX_URL_LENGTH:
        check.fail("url", UserErrorCode.TOO_LONG, f"url must be at most {MAX_URL_LENGTH} characters")
        return
    try:
        parts = urlsplit(url)
        port_ok = parts.port is None or 0 < parts.port < 65536
    except ValueError:
        parts, port_ok = None, False
    if (
        parts is None
        or not port_ok
        or parts.scheme not in ("http", "https")
        or not parts.hostname
        or parts.username is not None
        or has_control_characters(url)
        or any(c.isspace() for c in url)
    ):
        check.fail("url", UserErrorCode.INVALID, "url must be an absolute http(s) URL without credentials")
        return
    port = parts.port or (443 if parts.scheme == "https" else 80)
    if not allow_private and reaches_internal(parts.hostname, port):
        check.fail("url", UserErrorCode.ADDRESS_NOT_ALLOWED, "url must not point into a private or reserved network")
        return
    check.clean["url"] = url


def _check_events(check: Checker, value: Any, enabled_plugins: frozenset[str]) -> None:
    events = [str(e).strip() for e in value or []]
    if not events:
        check.fail("events", UserErrorCode.REQUIRED, "events must name at least one event type")
        return
    if len(events) > MAX_EVENTS:
        check.fail("events", UserErrorCode.INVALID, f"at most {MAX_EVENTS} event types")
        return
    unknown = [e for e in events if not is_known_pattern(e)]
    if unknown:
        check.fail("events", UserErrorCode.INVALID, f"unknown event types: {', '.join(sorted(set(unknown)))}")
        return
    needed = {e: plugins_needed(e, enabled_plugins) for e in sorted(set(events))}
    problems = [f"{e} needs the {', '.join(sorted(p))} plugin" for e, p in needed.items() if p]
    if problems:
        message = f"{'; '.join(problems)}, which the tenant has not enabled"
        check.fail("events", UserErrorCode.PLUGIN_NOT_ENABLED, message)
        return
    check.clean["events"] = sorted(set(events))


def _check_secret(check: Checker, value: Any) -> None:
    secret = value if isinstance(value, str) else ""
    if len(secret) < MIN_SECRET_LENGTH:
        check.fail("secret", UserErrorCode.TOO_SHORT, f"secret must be at least {MIN_SECRET_LENGTH} characters")
    elif len(secret) > MAX_SECRET_LENGTH:
        check.fail("secret", UserErrorCode.TOO_LONG, f"secret must be at most {MAX_SECRET_LENGTH} characters")
    elif has_control_characters(secret):
        check.fail("secret", UserErrorCode.INVALID, "secret must not contain control characters")
    else:
        check.clean["secret"] = secret


def _audit_view(webhook: Webhook) -> dict[str, Any]:
    """What the audit log keeps of a webhook: never the secret, not even encrypted."""
    return {
        "id": str(webhook.id),
        "url": webhook.url,
        "events": list(webhook.events),
        "deleted_at": webhook.deleted_at.isoformat() if webhook.deleted_at else None,
    }


def create_webhook(
    session: Session, principal: Principal, box: SecretBox, data: dict[str, Any], allow_private: bool = False
) -> Webhook:
    """Validate `url`, `events` and `secret` (all problems reported at once); store the secret encrypted.

    The URL must not name or resolve to an internal address unless `allow_private` (the
    deployment's `allow_private_networks`); delivery checks it again (`saas.outbound`). Event
    types of plugins the tenant has not enabled are refused (`PLUGIN_NOT_ENABLED`).
    """
    require(principal.permissions, WEBHOOKS_MANAGE)
    check = Checker(data)
    _check_url(check, data.get("url"), allow_private)
    _check_events(check, data.get("events"), principal.plugins)
    _check_secret(check, data.get("secret"))
    clean = check.done()
    webhook = Webhook(
        id=uuid.uuid4(),
        url=clean["url"],
        events=clean["events"],
        secret_encrypted=box.encrypt(clean["secret"]),
    )
    session.add(webhook)
    session.flush()
    session.refresh(webhook)
    _record(session, principal, "webhook.created", webhook, None)
    return webhook


def get_webhook(session: Session, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    """A live webhook of the caller's tenant, else NOT_FOUND (another tenant's id included)."""
    require(principal.permissions, WEBHOOKS_MANAGE)
    webhook = session.scalars(select(Webhook).where(Webhook.id == webhook_id, Webhook.deleted_at.is_(None))).first()
    if webhook is None:
        raise NotFoundError("Webhook not found", id=str(webhook_id))
    return webhook


def update_webhook(
    session: Session,
    principal: Principal,
    box: SecretBox,
    webhook_id: uuid.UUID,
    data: dict[str, Any],
    allow_private: bool = False,
) -> Webhook:
    """Change the `url`, `events` or `secret` given (others kept), checked as at creation.

    Deliveries already queued keep going to the webhook, with the secret and address it has when
    they are sent; events recorded from now on match the new `events`.
    """
    webhook = get_webhook(session, principal, webhook_id)
    check = Checker(data)
    if not data:
        check.errors.append(FieldError(["input"], UserErrorCode.REQUIRED, "give url, events or secret"))
    if "url" in data:
        _check_url(check, data["url"], allow_private)
    if "events" in data:
        _check_events(check, data["events"], principal.plugins)
    if "secret" in data:
        _check_secret(check, data["secret"])
    clean = check.done()
    before = _audit_view(webhook)
    if "url" in clean:
        webhook.url = clean["url"]
    if "events" in clean:
        webhook.events = clean["events"]
    if "secret" in clean:
        webhook.secret_encrypted = box.encrypt(clean["secret"])
    session.flush()
    after = _audit_view(webhook)
    if after == before and "secret" not in clean:
        return webhook  # nothing changed: no audit entry, no event
    _record(session, principal, "webhook.updated", webhook, before)
    return webhook


def delete_webhook(session: Session, principal: Principal, webhook_id: uuid.UUID) -> Webhook:
    """No new deliveries from now on; pending ones are given up; the delivery log stays readable."""
    webhook = get_webhook(session, principal, webhook_id)
    before = _audit_view(webhook)
    webhook.deleted_at = datetime.now(UTC)
    session.flush()
    _record(session, principal, "webhook.deleted", webhook, before)
    return webhook


def _record(
    session: Session, principal: Principal, action: str, webhook: Webhook, before: dict[str, Any] | None
) -> None:
    """The audit entry and the domain event of a change of a webhook (outbox, same transaction).

    The event carries the webhook as the API returns it (`api_object` of the GraphQL
    `Webhook`, which has no field for the secret) without its `url`: the events go to every
    subscribed receiver of the tenant and to the plugins, and an address often carries a
    token of its own (`…/services/T0K3N`), which one receiver must not learn of another. A
    new webhook subscribed to `webhook.created` receives its own creation (it is live when
    the event is recorded); a deleted one does not receive its deletion.
    """
    record_change(session, principal, action, "Webhook", webhook.id, before, _audit_view(webhook))
    shaped = api_object(WebhookType.from_model(webhook))
    del shaped["url"]
    emit_event(session, action, {"webhook": shaped})


def list_webhooks(session: Session, principal: Principal) -> list[Webhook]:
    require(principal.permissions, WEBHOOKS_MANAGE)
    return list(
        session.scalars(select(Webhook).where(Webhook.deleted_at.is_(None)).order_by(Webhook.created_at, Webhook.id))
    )


def delivery_page(
    session: Session,
    principal: Principal,
    webhook_id: uuid.UUID | None,
    limit: int,
    after: Sequence[Any] | None,
) -> Page[WebhookDelivery]:
    """Deliveries of the newest events first (keyset on occurred_at, event id, id), of one webhook or of all."""
    require(principal.permissions, WEBHOOKS_MANAGE)
    query = select(WebhookDelivery)
    if webhook_id is not None:
        exists = session.scalar(select(Webhook.id).where(Webhook.id == webhook_id))
        if exists is None:
            raise NotFoundError("Webhook not found", id=str(webhook_id))
        query = query.where(WebhookDelivery.webhook_id == webhook_id)
    key = (WebhookDelivery.occurred_at, WebhookDelivery.event_id, WebhookDelivery.id)
    return keyset_page(session, query, key, limit, after, descending=True, count=False)


def get_delivery(session: Session, principal: Principal, delivery_id: uuid.UUID) -> WebhookDelivery:
    """One delivery of the caller's tenant (its webhook deleted or not), else NOT_FOUND (another tenant's id included:
    the tenant-bound session's row-level security hides it)."""
    require(principal.permissions, WEBHOOKS_MANAGE)
    delivery = session.get(WebhookDelivery, (principal.tenant_id, delivery_id))
    if delivery is None:
        raise NotFoundError("Webhook delivery not found", id=str(delivery_id))
    return delivery


def attempts_of(session: Session, delivery_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[WebhookAttempt]]:
    """Attempts of many deliveries in one statement, in attempt order."""
    found: dict[uuid.UUID, list[WebhookAttempt]] = defaultdict(list)
    if delivery_ids:
        rows = session.scalars(
            select(WebhookAttempt)
            .where(WebhookAttempt.delivery_id.in_(delivery_ids))
            .order_by(WebhookAttempt.delivery_id, WebhookAttempt.attempt)
        )
        for row in rows:
            found[row.delivery_id].append(row)
    return found
