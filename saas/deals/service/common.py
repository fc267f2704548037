"""What every deals service shares: input checks of money and dates, finding visible rows, recording changes."""

from __future__ import annotations

import functools
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import bindparam, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.audit.log import change_record, snapshot
from saas.auth.principal import Principal
from saas.customers.rules import SqlCondition
from saas.errors import ConflictError, FieldError, InputInvalid, UserErrorCode
from saas.events.outbox import emit_event
from saas.money import parse_amount, parse_currency
from saas.validation import Checker, camel_case

Conditions = Callable[[Principal, str], SqlCondition]


def now() -> datetime:
    return datetime.now(UTC)


def today() -> date:
    return now().date()


def invalid(path: list[str | int], code: str, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", *(str(p) for p in path)], code, message)])


def check_amount(check: Checker, field: str, *, positive: bool = True, required: bool = True) -> None:
    """`field` of the input as a Decimal of at most two decimals into `check.clean`, or a field error."""
    value = check.data.get(field)
    if value is None:
        if required:
            check.fail(field, UserErrorCode.REQUIRED, f"{camel_case(field)} is required")
        return
    try:
        check.clean[field] = parse_amount(value, positive=positive)
    except ValueError as exc:
        check.fail(field, UserErrorCode.INVALID, f"{camel_case(field)} {exc}")


def check_currency(check: Checker, field: str = "currency") -> None:
    value = check.data.get(field)
    if value is None:
        check.fail(field, UserErrorCode.REQUIRED, f"{camel_case(field)} is required")
        return
    try:
        check.clean[field] = parse_currency(value)
    except ValueError as exc:
        check.fail(field, UserErrorCode.INVALID, f"{camel_case(field)} {exc}")


def check_date(check: Checker, field: str, *, required: bool = False) -> None:
    value = check.data.get(field)
    if value is None:
        if required:
            check.fail(field, UserErrorCode.REQUIRED, f"{camel_case(field)} is required")
        elif field in check.data:
            check.clean[field] = None
        return
    if not isinstance(value, date) or isinstance(value, datetime):
        check.fail(field, UserErrorCode.INVALID, f"{camel_case(field)} must be a date, e.g. 2026-12-31")
        return
    check.clean[field] = value


def find_visible(
    session: Session,
    principal: Principal,
    model: Any,
    row_id: uuid.UUID | None,
    conditions: Conditions,
    *,
    lock: bool = False,
) -> Any:
    """The row if the principal sees it (tenant and visibility rule), else None."""
    if row_id is None:
        return None
    condition = conditions(principal, model.__tablename__)
    query = _visible_query(model, condition.sql, lock)
    return session.scalars(query, {**condition.params, "visible_row_id": row_id}).first()


@functools.lru_cache(maxsize=256)
def _visible_query(model: Any, condition_sql: str, lock: bool) -> Any:
    """`find_visible`'s statement, built once per model, visibility rule and lock: the row's id and
    the rule's values are bound when it runs."""
    query = select(model).where(model.id == bindparam("visible_row_id"), text(condition_sql))
    return query.with_for_update(of=model) if lock else query


def require_visible(
    session: Session,
    principal: Principal,
    model: Any,
    row_id: uuid.UUID | None,
    conditions: Conditions,
    field: str,
    *,
    lock: bool = False,
) -> Any:
    """`find_visible`, or a NOT_FOUND user error on `input.<field>` (nothing written)."""
    row = find_visible(session, principal, model, row_id, conditions, lock=lock)
    if row is None:
        raise invalid([field], UserErrorCode.NOT_FOUND, f"No such {model.__name__.lower()}")
    return row


def record(
    session: Session,
    principal: Principal,
    action: str,
    row: Any,
    before: dict[str, Any] | None,
    payload: dict[str, Any],
    *,
    with_rows: Sequence[Any] = (),
) -> None:
    """The audit entry and the domain event (outbox, same transaction) of a change; `action` names both.

    They are written by one statement, with `with_rows` (new rows of the change not added to the
    session, e.g. its stage-history entry): `emit_event`'s `with_rows`."""
    entity_id = getattr(row, "id", None) or row.tenant_id  # the settings row is the tenant's
    entry = change_record(principal, action, type(row).__name__, entity_id, before, snapshot(row))
    emit_event(session, action, payload, with_rows=[*with_rows, entry])


def flush(session: Session, unique: dict[str, FieldError] | None = None) -> None:
    """Flush in a savepoint: a unique index named in `unique` (a race past the check) becomes its
    user error; a stale version is CONFLICT."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        for index, error in (unique or {}).items():
            if index in str(exc.orig):
                raise InputInvalid([error]) from None
        raise
    except StaleDataError as exc:
        raise ConflictError() from exc


def check_version(row: Any, version: int | None) -> None:
    check_version_of(row.version, version)


def check_version_of(current: int, version: int | None) -> None:
    """CONFLICT (with the current version) when the caller named a `version` other than `current`."""
    if version is not None and current != version:
        raise ConflictError(current_version=current)
