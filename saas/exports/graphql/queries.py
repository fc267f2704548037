"""`exportJob(id)`: read through the ORM, since its link is signed in Python (saas/downloads)."""

from __future__ import annotations

import uuid

import strawberry
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.downloads.service import sign_link
from saas.errors import NotFoundError
from saas.exports import service
from saas.exports.graphql.types import ExportJob
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


async def load_export_job(context: RequestContext, raw_id: uuid.UUID) -> ExportJob | None:
    principal = context.require_principal()
    settings = context.runtime.settings

    def read(session: Session) -> ExportJob | None:
        try:
            job = service.get_export_job(session, principal, raw_id)
        except NotFoundError:
            return None
        download = service.job_download(session, job)
        url = sign_link(settings, download) if download is not None else None
        return ExportJob.from_model(job, download, url)

    return await context.read(read)


@strawberry.type
class ExportQueries:
    @strawberry.field(description="One export job the caller started; NOT_FOUND otherwise.")
    async def export_job(self, info: Info[RequestContext, None], id: strawberry.ID) -> ExportJob:
        raw_id = decode_id(id, "ExportJob")
        job = await load_export_job(info.context, raw_id)
        if job is None:
            raise NotFoundError("ExportJob not found", id=str(raw_id))
        return job
