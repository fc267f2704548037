"""The attempts of a page of deliveries in one statement, whatever the page size."""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader
from saas.webhooks.graphql.types import WebhookAttempt
from saas.webhooks.service import attempts_of


def attempts_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[WebhookAttempt]]:
    """Every attempt of each delivery, first to last."""

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, list[WebhookAttempt]]:
        found = attempts_of(session, ids)
        return {key: [WebhookAttempt.from_model(row) for row in rows] for key, rows in found.items()}

    return request_loader(context, "webhook_attempts", batch, missing=list)
