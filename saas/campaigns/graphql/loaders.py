"""DataLoaders for the ORM path: a page's campaign figures in one statement, whatever the page size."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import bindparam, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.campaigns.rules import leads_created_sql, responses_sql, roi_sql, won_amount_sql
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader
from saas.tenancy.session import TENANT_PARAM, bound_tenant, tenant_predicate


@dataclass(frozen=True)
class Figures:
    responses: int
    leads_created: int
    won_amount: Decimal
    roi: Decimal


def campaign_figures(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Figures]:
    """The figures of the campaigns `ids`, by the rules' SQL (the compiled reads use the same)."""
    statement = text(
        f"SELECT c.id, {responses_sql('c')}, {leads_created_sql('c')}, ({won_amount_sql('c')})::numeric(14, 2), "
        f"{roi_sql('c')} FROM campaigns c WHERE {tenant_predicate('c')} AND c.id IN :ids"
    ).bindparams(bindparam("ids", expanding=True))
    rows = session.execute(statement, {"ids": [str(i) for i in ids], TENANT_PARAM: bound_tenant(session)})
    return {row[0]: Figures(int(row[1]), int(row[2]), Decimal(row[3]), Decimal(row[4])) for row in rows}


def figures_loader(context: RequestContext) -> DataLoader[uuid.UUID, Figures]:
    return request_loader(
        context, "campaign_figures", campaign_figures, missing=lambda: Figures(0, 0, Decimal(0), Decimal(-1))
    )
