"""`GET /downloads/<token>`: a produced file, once, through its signed link (`saas.downloads.service`)."""

from __future__ import annotations

from urllib.parse import quote

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse

from saas.audit.log import NamedActor, record_access
from saas.downloads.models import Download
from saas.downloads.service import DownloadError, claim, stream
from saas.http.state import TransportState
from saas.tenancy.session import tenant_session

DOWNLOAD_ROUTE = "/downloads/{token}"
DOWNLOADED = "download"


def _claim_and_audit(state: TransportState, token: str) -> Download:
    runtime = state.runtime
    download = claim(runtime.engine, runtime.settings, token)
    with tenant_session(runtime.engine, download.tenant_id) as session:
        record_access(
            session, NamedActor("download link"), DOWNLOADED, "Download", download.id, {"file": download.file_name}
        )
    return download


async def download_file(request: Request) -> Response:
    state: TransportState = request.app.state.transport
    try:
        download = await run_in_threadpool(_claim_and_audit, state, request.path_params["token"])
    except DownloadError as error:
        return JSONResponse(
            {"errors": [{"message": error.message, "extensions": {"code": error.code}}]}, status_code=error.status
        )
    headers = {
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(download.file_name)}",
        "Content-Length": str(download.size_bytes),
        "Cache-Control": "no-store",
        "X-Content-Type-Options": "nosniff",
    }
    if download.sha256:
        headers["Digest"] = f"sha-256={download.sha256}"
    chunks = iterate_in_threadpool(stream(state.runtime.engine, download))
    return StreamingResponse(chunks, media_type=download.content_type, headers=headers)
