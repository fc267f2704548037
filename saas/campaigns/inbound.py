"""Responses posted to a campaign's inbound endpoint (`POST /campaigns/inbound/<token>`), e.g. by a
mailing tool's webhook or a landing page's form.

The token is `<tenant id><campaign id>.<secret>` (hex, then URL-safe base64): the first half names
the campaign, the secret proves the caller was given it. Only the secret's SHA-256 is stored, so
the database cannot give it away; it is shown once (`launchCampaign`, `issueCampaignInboundToken`)
and compared in constant time. The response is recorded as `recordCampaignResponse` would, by a
principal that may only write leads, with `source` INBOUND.
"""

from __future__ import annotations

import hashlib
import hmac
import uuid
from typing import Any

from sqlalchemy import Engine, select

from saas.auth.permissions import LEADS_READ, LEADS_WRITE
from saas.auth.principal import Principal
from saas.campaigns.models import Campaign, CampaignResponse
from saas.campaigns.service import record_response
from saas.tenancy.session import tenant_session

INBOUND_LABEL = "campaign inbound"
# The body's limit: one response, a note of at most 500 characters.
MAX_BODY_BYTES = 4_096
ACCEPTED_KEYS = frozenset({"kind", "email", "note"})


class InboundRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def _parse_token(token: str) -> tuple[uuid.UUID, uuid.UUID, str]:
    head, _, secret = token.partition(".")
    if len(head) != 64 or not secret:
        raise InboundRefused(404, "NOT_FOUND", "No such campaign endpoint")
    try:
        return uuid.UUID(hex=head[:32]), uuid.UUID(hex=head[32:]), secret
    except ValueError:
        raise InboundRefused(404, "NOT_FOUND", "No such campaign endpoint") from None


def record_inbound(engine: Engine, token: str, body: Any) -> CampaignResponse:
    """Record the posted response for the token's campaign; `InboundRefused` or `InputInvalid` otherwise."""
    tenant_id, campaign_id, secret = _parse_token(token)
    if not isinstance(body, dict) or not set(body) <= ACCEPTED_KEYS:
        raise InboundRefused(400, "INVALID", f"The body must be a JSON object with {', '.join(sorted(ACCEPTED_KEYS))}")
    presented = hashlib.sha256(secret.encode()).hexdigest()
    with tenant_session(engine, tenant_id) as session:
        stored = session.scalar(select(Campaign.inbound_token_hash).where(Campaign.id == campaign_id))
        if stored is None or not hmac.compare_digest(stored, presented):
            raise InboundRefused(404, "NOT_FOUND", "No such campaign endpoint")
        principal = Principal(
            tenant_id=tenant_id, label=INBOUND_LABEL, permissions=frozenset({LEADS_READ, LEADS_WRITE})
        )
        return record_response(session, principal, campaign_id, dict(body), source="inbound")
