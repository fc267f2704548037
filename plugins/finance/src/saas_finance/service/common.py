"""What every service shares: the plugin's live topic, settings, the clock, NOT_FOUND."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy.orm import Session

from saas.plugin_api import NotFoundError, plugin_settings
from saas_finance import NAME
from saas_finance.settings import FinanceSettings

QUOTES_TOPIC = "fin.quotes"
CENT = Decimal("0.01")


def now() -> datetime:
    return datetime.now(UTC)


def settings(session: Session) -> FinanceSettings:
    return FinanceSettings.model_validate(plugin_settings(session, NAME))


def money(value: Decimal) -> Decimal:
    """To the cent, halves away from zero (how every amount the plugin stores or shows is rounded)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def not_found(what: str, raw_id: uuid.UUID | None = None) -> NotFoundError:
    return NotFoundError(f"{what} not found", **({"id": str(raw_id)} if raw_id else {}))
