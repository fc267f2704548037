"""The error codes of the reports (besides the shared ones in saas/errors.py)."""

from __future__ import annotations

from enum import StrEnum

from saas.errors import AppError


class ReportErrorCode(StrEnum):
    NOT_SUPPORTED = "NOT_SUPPORTED"  # a filter this deployment cannot apply yet (teamId, until teams exist)


class NotSupportedError(AppError):
    """A report filter that is part of the API but cannot be applied yet."""

    code = ReportErrorCode.NOT_SUPPORTED  # type: ignore[assignment]
    default_message = "This filter is not supported yet"
