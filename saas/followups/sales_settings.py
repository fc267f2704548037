"""The two sales settings follow-ups depend on, read through one accessor each.

`salesSettings` (leadClaimCap, publicPoolDays) belongs to the leads domain. Until it exists,
these answer its defaults; every caller reads the settings through these functions only, so
they are the one place to point at the leads domain's settings.
"""

from __future__ import annotations

import uuid

from sqlalchemy.orm import Session

DEFAULT_PUBLIC_POOL_DAYS = 30
DEFAULT_LEAD_CLAIM_CAP = 50


def public_pool_days(session: Session, tenant_id: uuid.UUID) -> int:
    """Days without a follow-up after which an owned customer returns to the public pool."""
    return DEFAULT_PUBLIC_POOL_DAYS


def lead_claim_cap(session: Session, tenant_id: uuid.UUID) -> int:
    """The most records a rep may hold after claiming from a pool (leads and customers alike)."""
    return DEFAULT_LEAD_CLAIM_CAP
