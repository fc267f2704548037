"""DataLoaders: one statement for the points of every customer on a page, whatever its size."""

from __future__ import annotations

import uuid

from saas.plugin_api import RequestContext, request_loader
from strawberry.dataloader import DataLoader

from saas_plugin_loyalty import service


def points_loader(context: RequestContext) -> DataLoader[uuid.UUID, int]:
    """The request's loader of balances by customer id: 0 for a customer without entries."""
    return request_loader(context, "loyalty.points", service.balances, missing=int)
