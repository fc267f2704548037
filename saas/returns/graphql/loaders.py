"""DataLoaders of the ORM path: returns by id (visible with their customer) and each return's lines."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from strawberry.dataloader import DataLoader

from saas.deals.graphql.loaders import by_id, children
from saas.returns import models, rules
from saas.schema.context import RequestContext

if TYPE_CHECKING:
    from saas.returns.graphql.types import ReturnLine, ReturnRequest


def return_loader(context: RequestContext) -> DataLoader[uuid.UUID, ReturnRequest | None]:
    from saas.returns.graphql.types import ReturnRequest

    return by_id(context, "returns", models.ReturnRequest, ReturnRequest.from_model, rules.return_conditions)


def return_line_loader(context: RequestContext) -> DataLoader[uuid.UUID, ReturnLine | None]:
    from saas.returns.graphql.types import ReturnLine

    return by_id(context, "return_lines_by_id", models.ReturnLine, ReturnLine.from_model, rules.return_line_conditions)


def return_lines_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[ReturnLine]]:
    """The lines of each return (the caller sees their return already)."""
    from saas.returns.graphql.types import ReturnLine

    return children(
        context,
        "return_lines",
        models.ReturnLine,
        models.ReturnLine.return_id,
        (models.ReturnLine.position,),
        ReturnLine.from_model,
    )
