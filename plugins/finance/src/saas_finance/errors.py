"""The plugin's user error codes (`userErrors[].code`) and the one way services raise them."""

from __future__ import annotations

from enum import StrEnum

from saas.plugin_api import FieldError, InputInvalid, UserErrorCode


class FinErrorCode(StrEnum):
    INSUFFICIENT_HOLDINGS = "INSUFFICIENT_HOLDINGS"
    INSUFFICIENT_CASH = "INSUFFICIENT_CASH"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    WEIGHTS_NOT_ONE = "WEIGHTS_NOT_ONE"
    TOO_MANY_QUOTES = "TOO_MANY_QUOTES"
    OUT_OF_ORDER = "OUT_OF_ORDER"


class QuoteRejection(StrEnum):
    """Why one quote of a batch was not taken (`ingestQuotes.rejected[].reason`)."""

    UNKNOWN_SYMBOL = "UNKNOWN_SYMBOL"
    INVALID_PRICE = "INVALID_PRICE"
    INVALID_TIME = "INVALID_TIME"


def invalid(field: list[str | int], code: FinErrorCode | UserErrorCode, message: str) -> InputInvalid:
    """A user error on `field` (e.g. ["input", "quotes", 0, "price"]); nothing is written."""
    # FieldError.code is typed UserErrorCode in the core; any StrEnum member serialises the same way.
    return InputInvalid([FieldError([str(part) for part in field], code, message)])  # type: ignore[arg-type]
