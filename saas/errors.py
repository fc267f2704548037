"""Error codes and the exceptions that carry them; the GraphQL layer turns these into errors."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class ErrorCode(StrEnum):
    UNAUTHENTICATED = "UNAUTHENTICATED"
    FORBIDDEN = "FORBIDDEN"
    NOT_FOUND = "NOT_FOUND"
    CONFLICT = "CONFLICT"
    BAD_USER_INPUT = "BAD_USER_INPUT"
    QUERY_TOO_COMPLEX = "QUERY_TOO_COMPLEX"
    RATE_LIMITED = "RATE_LIMITED"
    PLUGIN_NOT_ENABLED = "PLUGIN_NOT_ENABLED"
    GRAPHQL_PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
    GRAPHQL_VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
    SUBSCRIPTION_INTERRUPTED = "SUBSCRIPTION_INTERRUPTED"
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"


class UserErrorCode(StrEnum):
    """Codes of `userErrors` entries in mutation payloads."""

    REQUIRED = "REQUIRED"
    TOO_LONG = "TOO_LONG"
    TOO_SHORT = "TOO_SHORT"
    INVALID = "INVALID"
    INVALID_EMAIL = "INVALID_EMAIL"
    INVALID_PHONE = "INVALID_PHONE"
    TAKEN = "TAKEN"
    NOT_FOUND = "NOT_FOUND"
    EXPIRED = "EXPIRED"
    NOT_DELETED = "NOT_DELETED"
    LAST_OWNER = "LAST_OWNER"
    INVALID_CREDENTIALS = "INVALID_CREDENTIALS"
    REQUIREMENT_MISSING = "REQUIREMENT_MISSING"
    REQUIRED_BY_OTHERS = "REQUIRED_BY_OTHERS"
    ADDRESS_NOT_ALLOWED = "ADDRESS_NOT_ALLOWED"
    PLUGIN_NOT_ENABLED = "PLUGIN_NOT_ENABLED"
    # Leads and the lead pool (saas/leads).
    DUPLICATE = "DUPLICATE"
    CLAIM_CAP_EXCEEDED = "CLAIM_CAP_EXCEEDED"
    NOT_IN_POOL = "NOT_IN_POOL"
    NOT_CLAIMED = "NOT_CLAIMED"
    ALREADY_CONVERTED = "ALREADY_CONVERTED"
    ALREADY_DISQUALIFIED = "ALREADY_DISQUALIFIED"
    OUT_OF_RANGE = "OUT_OF_RANGE"
    # Custom fields: a value, and a definition change that stored values do not allow.
    UNKNOWN_FIELD = "UNKNOWN_FIELD"
    WRONG_TYPE = "WRONG_TYPE"
    INVALID_OPTION = "INVALID_OPTION"
    ARCHIVED = "ARCHIVED"
    VALUES_MISSING = "VALUES_MISSING"
    OTHER_CUSTOMER = "OTHER_CUSTOMER"  # a referenced record belongs to another customer
    DUPLICATE_VALUES = "DUPLICATE_VALUES"
    INCOMPATIBLE_VALUES = "INCOMPATIBLE_VALUES"
    # Follow-ups: the public pool (NOT_IN_POOL and CLAIM_CAP_EXCEEDED above, as for leads) and tasks.
    ALREADY_COMPLETED = "ALREADY_COMPLETED"
    # Service: a status change its lifecycle does not allow (tickets, returns, work orders, articles).
    INVALID_TRANSITION = "INVALID_TRANSITION"
    # Returns: more than ordered minus already requested; a refund above the returned lines' value.
    QUANTITY_EXCEEDED = "QUANTITY_EXCEEDED"
    REFUND_EXCEEDED = "REFUND_EXCEEDED"
    # Work orders: the technician already has a work order at that time.
    OVERLAP = "OVERLAP"
    # Automation rules (saas/automation): triggers, the condition language and actions.
    UNKNOWN_TRIGGER = "UNKNOWN_TRIGGER"
    UNKNOWN_OPERATOR = "UNKNOWN_OPERATOR"
    UNKNOWN_ACTION = "UNKNOWN_ACTION"
    INVALID_PATH = "INVALID_PATH"
    TYPE_MISMATCH = "TYPE_MISMATCH"
    TOO_DEEP = "TOO_DEEP"
    TOO_LARGE = "TOO_LARGE"
    # Campaigns: launching one twice; a response to (or a token for) one not launched yet.
    ALREADY_LAUNCHED = "ALREADY_LAUNCHED"
    NOT_LAUNCHED = "NOT_LAUNCHED"


class AppError(Exception):
    """An expected failure that reaches the client with its code."""

    code: ErrorCode = ErrorCode.INTERNAL_SERVER_ERROR
    default_message = "Internal server error"

    def __init__(self, message: str | None = None, **extensions: Any) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.extensions = extensions


class UnauthenticatedError(AppError):
    code = ErrorCode.UNAUTHENTICATED
    default_message = "Authentication required"


class ForbiddenError(AppError):
    code = ErrorCode.FORBIDDEN
    default_message = "You do not have permission to do this"


class NotFoundError(AppError):
    code = ErrorCode.NOT_FOUND
    default_message = "Not found"


class ConflictError(AppError):
    code = ErrorCode.CONFLICT
    default_message = "The record was changed by someone else; reload it and try again"


class BadUserInputError(AppError):
    code = ErrorCode.BAD_USER_INPUT
    default_message = "Invalid input"


class RateLimitedError(AppError):
    """Too many attempts or too much at once; `extensions.retryAfter` says in how many seconds to retry."""

    code = ErrorCode.RATE_LIMITED
    default_message = "Too many attempts; try again later"

    def __init__(self, message: str | None = None, *, retry_after: int) -> None:
        super().__init__(message, retry_after=retry_after)
        self.retry_after = retry_after


class CredentialRateLimitedError(RateLimitedError, UnauthenticatedError):
    """A credential left unchecked because its client failed too often of late.

    It is an `UnauthenticatedError` too, so that every transport refuses it where it refuses
    a bad credential; its code is `RATE_LIMITED`.
    """


class QueryTooComplexError(AppError):
    code = ErrorCode.QUERY_TOO_COMPLEX
    default_message = "Query is too complex"


class SubscriptionInterrupted(AppError):
    """A live subscription lost its event source (Redis went away, or the client fell behind).

    Nothing the client did was wrong and nothing is broken for good: subscribing again picks
    up from now on (events in between are in the lists and the audit log)."""

    code = ErrorCode.SUBSCRIPTION_INTERRUPTED
    default_message = "The live subscription was interrupted; subscribe again"


@dataclass(frozen=True)
class FieldError:
    """One validation or business-rule failure of a mutation input."""

    field: list[str]
    code: UserErrorCode | str  # plugins may define codes of their own
    message: str


class InputInvalid(Exception):
    """Raised by services when input fails validation; becomes `userErrors`, writes nothing."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(e.message for e in errors))
        self.errors = errors
