"""The plugin's user error codes (`userErrors[].code`) and the one way services raise them."""

from __future__ import annotations

from enum import StrEnum

from saas.plugin_api import FieldError, InputInvalid, UserErrorCode


class AutoErrorCode(StrEnum):
    INVALID_VIN = "INVALID_VIN"
    VIN_CHECK_DIGIT = "VIN_CHECK_DIGIT"
    MILEAGE_DECREASE = "MILEAGE_DECREASE"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    UNKNOWN_CHANNEL = "UNKNOWN_CHANNEL"


def invalid(field: list[str | int], code: AutoErrorCode | UserErrorCode, message: str) -> InputInvalid:
    """A user error on `field` (e.g. ["input", "parts", 0, "quantity"]); nothing is written."""
    return InputInvalid([FieldError([str(part) for part in field], code, message)])  # type: ignore[arg-type]
