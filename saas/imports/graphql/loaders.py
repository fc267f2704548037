"""DataLoaders of the ORM path: import jobs by id (the caller's visibility)."""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.imports import models, rules
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader

if TYPE_CHECKING:
    from saas.imports.graphql.types import ImportJob


def import_job_loader(context: RequestContext) -> DataLoader[uuid.UUID, ImportJob | None]:
    from saas.imports.graphql.types import ImportJob

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, ImportJob]:
        principal = context.require_principal()
        rules.require_import_reader(principal)
        condition = rules.import_conditions(principal, "import_jobs")
        query = select(models.ImportJob).where(models.ImportJob.id.in_(ids), text(condition.sql))
        return {row.id: ImportJob.from_model(row) for row in session.scalars(query.params(**condition.params))}

    return request_loader(context, "imports.jobs", batch)
