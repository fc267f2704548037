"""DataLoaders: one statement for the points of every customer on a page, whatever its size."""

from __future__ import annotations

import uuid

from saas.plugin_api import RequestContext
from strawberry.dataloader import DataLoader

from saas_plugin_loyalty import service


def points_loader(context: RequestContext) -> DataLoader[uuid.UUID, int]:
    """The request's loader of balances by customer id (the key is namespaced: loaders are shared)."""
    loader: DataLoader[uuid.UUID, int] | None = context.loaders.get("loyalty.points")
    if loader is None:

        async def load(customer_ids: list[uuid.UUID]) -> list[int]:
            return await context.read(service.balances, customer_ids)

        loader = context.loaders["loyalty.points"] = DataLoader(load_fn=load)
    return loader
