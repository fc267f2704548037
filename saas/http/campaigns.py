"""`POST /campaigns/inbound/<token>`: a response to a campaign from outside (saas/campaigns/inbound.py).

Every request is first counted per token and per client address (`SignInThrottle.inbound_retry_after`):
over either limit, 429 `RATE_LIMITED` with `Retry-After`, before the body is read or the token checked."""

from __future__ import annotations

import orjson
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from saas.auth.throttle import client_address
from saas.campaigns.inbound import MAX_BODY_BYTES, InboundRefused, record_inbound
from saas.errors import InputInvalid
from saas.http.state import TransportState
from saas.schema.common import UserError
from saas.schema.relay import to_global_id

INBOUND_ROUTE = "/campaigns/inbound/{token}"


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"errors": [{"message": message, "extensions": {"code": code}}]}, status_code=status)


async def campaign_inbound(request: Request) -> Response:
    state: TransportState = request.app.state.transport
    token = request.path_params["token"]
    wait = await run_in_threadpool(state.runtime.throttle.inbound_retry_after, token, client_address())
    if wait is not None:
        refused = _error(429, "RATE_LIMITED", "Too many requests; try again later")
        refused.headers["Retry-After"] = str(wait)
        return refused
    declared = request.headers.get("content-length")
    if declared is not None and (not declared.isdigit() or int(declared) > MAX_BODY_BYTES):
        return _error(413, "PAYLOAD_TOO_LARGE", f"The body must be at most {MAX_BODY_BYTES} bytes")
    body = b""
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY_BYTES:
            return _error(413, "PAYLOAD_TOO_LARGE", f"The body must be at most {MAX_BODY_BYTES} bytes")
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        return _error(400, "BAD_REQUEST", "The body must be JSON")
    try:
        response = await run_in_threadpool(record_inbound, state.runtime.engine, token, data)
    except InboundRefused as refused:
        return _error(refused.status, refused.code, refused.message)
    except InputInvalid as invalid:
        errors = [UserError.from_field_error(e) for e in invalid.errors]
        return JSONResponse(
            {"userErrors": [{"field": e.field, "code": e.code, "message": e.message} for e in errors]},
            status_code=422,
        )
    lead = to_global_id("Lead", response.lead_id) if response.lead_id else None
    return JSONResponse(
        {"response": {"id": to_global_id("CampaignResponse", response.id), "lead": lead}}, status_code=201
    )
