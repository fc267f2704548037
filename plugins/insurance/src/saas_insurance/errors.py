"""The plugin's user error codes (`userErrors[].code`) and the one way services raise them."""

from __future__ import annotations

from enum import StrEnum

from saas.plugin_api import FieldError, InputInvalid, UserErrorCode


class InsErrorCode(StrEnum):
    OUTSIDE_TERM = "OUTSIDE_TERM"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    ALREADY_RENEWED = "ALREADY_RENEWED"
    EXCEEDS_SUM_INSURED = "EXCEEDS_SUM_INSURED"
    UNKNOWN_RATING_FACTOR = "UNKNOWN_RATING_FACTOR"
    NOT_ENOUGH_OUTCOMES = "NOT_ENOUGH_OUTCOMES"


def invalid(field: list[str | int], code: InsErrorCode | UserErrorCode, message: str) -> InputInvalid:
    """A user error on `field` (e.g. ["input", "amount"]); nothing is written."""
    # FieldError.code is typed UserErrorCode in the core; any StrEnum member serialises the same way.
    return InputInvalid([FieldError([str(part) for part in field], code, message)])  # type: ignore[arg-type]
