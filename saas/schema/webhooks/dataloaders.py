"""The attempts of a page of deliveries in one statement, whatever the page size."""

from __future__ import annotations

import uuid
from collections.abc import Sequence

from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.schema.context import RequestContext
from saas.schema.webhooks.types import WebhookAttempt
from saas.webhooks.service import attempts_of


def attempts_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[WebhookAttempt]]:
    loader = context.loaders.get("webhook_attempts")
    if loader is None:

        def batch(session: Session, ids: Sequence[uuid.UUID]) -> list[list[WebhookAttempt]]:
            found = attempts_of(session, ids)
            return [[WebhookAttempt.from_model(row) for row in found.get(key, [])] for key in ids]

        async def load(keys: list[uuid.UUID]) -> list[list[WebhookAttempt]]:
            return await context.read(batch, keys)

        loader = context.loaders["webhook_attempts"] = DataLoader(load_fn=load)
    return loader  # type: ignore[no-any-return]
