"""The plugin's user error codes (`userErrors[].code`) and the one way services raise them."""

from __future__ import annotations

from enum import StrEnum

from saas.plugin_api import FieldError, InputInvalid, UserErrorCode


class MfgErrorCode(StrEnum):
    INSUFFICIENT_STOCK = "INSUFFICIENT_STOCK"
    STOCK_LIMIT_EXCEEDED = "STOCK_LIMIT_EXCEEDED"
    PRODUCT_INACTIVE = "PRODUCT_INACTIVE"
    WAREHOUSE_INACTIVE = "WAREHOUSE_INACTIVE"
    CURRENCY_MISMATCH = "CURRENCY_MISMATCH"
    ORDER_NOT_CANCELLABLE = "ORDER_NOT_CANCELLABLE"
    ORDER_NOT_SHIPPABLE = "ORDER_NOT_SHIPPABLE"
    INVALID_STATUS_TRANSITION = "INVALID_STATUS_TRANSITION"
    UNKNOWN_CARRIER = "UNKNOWN_CARRIER"
    CARRIER_FAILED = "CARRIER_FAILED"


def invalid(field: list[str | int], code: MfgErrorCode | UserErrorCode, message: str) -> InputInvalid:
    """A user error on `field` (e.g. ["input", "lines", 0, "quantity"]); nothing is written."""
    # FieldError.code is typed UserErrorCode in the core; any StrEnum member serialises the same way.
    return InputInvalid([FieldError([str(part) for part in field], code, message)])  # type: ignore[arg-type]
