"""Emitting a domain event: a row in the outbox, in the caller's transaction.

The event exists exactly when the change does: a rolled-back transaction leaves no row, so
nothing is ever sent for it. After commit the dispatcher is asked to run (`on_commit`,
`request_dispatch`) when this process has a job broker; a periodic sweep picks up anything a crash left behind, so no committed event is lost.

The event also records who may receive it: the tenant's live webhooks at the moment it is
written (`OutboxEvent.webhook_ids`), however late the dispatcher runs (see `emit_event`).
"""

from __future__ import annotations

import functools
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import bindparam, func, insert, inspect, literal_column, select, text, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.audit.log import json_safe
from saas.db.prepared_writes import PreparedWrite
from saas.db.records import NewRecord
from saas.events.catalog import is_registered
from saas.events.models import OutboxEvent
from saas.tenancy.session import AFTER_COMMIT_KEY, CrossTenantWrite, bound_tenant, on_commit
from saas.webhooks.models import Webhook

# Where a session keeps the causation depth of the events it emits (see `caused_by_automation`).
CAUSATION_DEPTH_KEY = "saas.causation_depth"


@contextmanager
def caused_by_automation(session: Session, depth: int) -> Iterator[None]:
    """Inside, the events the session emits record `depth` as their causation depth: an automation
    rule run on an event of depth d acts at depth d + 1, so rules that trigger each other (or
    themselves) can be stopped at a limit (`saas.automation.engine`)."""
    previous = session.info.get(CAUSATION_DEPTH_KEY)
    session.info[CAUSATION_DEPTH_KEY] = depth
    try:
        yield
    finally:
        if previous is None:
            session.info.pop(CAUSATION_DEPTH_KEY, None)
        else:
            session.info[CAUSATION_DEPTH_KEY] = previous


# `request_dispatch` without the reply of a `SET NX` already sent (`_DispatchRequest.finish`).
NOT_MARKED = object()


def request_dispatch(tenant_id: Any, marked: Any = NOT_MARKED) -> None:
    """Enqueue dispatch of the tenant's pending events, unless a dispatch job of the tenant is
    queued and not yet started (it will read them: `saas.events.dispatch.ask_for_dispatch`); a
    no-op in a process whose jobs are not bound to a broker (`saas.jobs.broker.setup`): the
    sweep of a process that has one does it. `marked`: the reply of the queued mark's `SET NX`
    when it was sent in a round trip shared with other commands (`_DispatchRequest`)."""
    from saas.events.dispatch import ask_for_dispatch, enqueue_if_marked  # dispatch emits events: imported when used

    if marked is NOT_MARKED:
        ask_for_dispatch(tenant_id)
    else:
        enqueue_if_marked(tenant_id, marked)


def _live_webhooks(tenant_id: Any) -> Any:
    """The ids of the tenant's live webhooks, as a subquery of the statement that writes the event."""
    return (
        select(func.coalesce(func.array_agg(Webhook.id), literal_column("'{}'::uuid[]")))
        .where(Webhook.tenant_id == tenant_id, Webhook.deleted_at.is_(None))
        .scalar_subquery()
    )


@dataclass(frozen=True)
class VersionedUpdate:
    """The change itself, for `emit_event` to write with its records: `values` (the new version
    among them) into the row `row_id` of `table` (a model's table with `tenant_id`, `id` and
    `version`), if that row is still at `version`."""

    table: Any
    row_id: Any
    version: int
    values: dict[str, Any]


def emit_event(
    session: Session,
    event_type: str,
    payload: dict[str, Any],
    *,
    with_rows: Sequence[Any] = (),
    with_update: VersionedUpdate | None = None,
) -> None:
    """Record `event_type` (a type of the catalog) with `payload` (JSON) for the session's tenant.

    `with_rows`: new rows of the same change that are not in the session yet (its audit entry,
    a history row), ORM objects or their values (`NewRecord`); they are written with the event by
    one statement, now (`_write_together`), instead of one INSERT each at the next flush. The
    event then goes into that statement as its column values (`NewRecord`), no ORM object built
    to carry them; alone, it is an `OutboxEvent` added to the session. Nothing is returned: no
    caller reads the event back.

    `with_update`: the change itself, an UPDATE of one row under its version check, written by
    that same statement (a data-modifying CTE of it). The caller has locked the row and checked
    its version; should the UPDATE still find no row at that version, `StaleDataError` is raised
    (as a flush raises it) and the caller's transaction, rolled back, keeps none of it.

    The webhooks that will receive the event are fixed now: the INSERT that writes it also
    stores the ids of the tenant's live webhooks, read by that same statement. So they are
    exactly the webhooks visible to the transaction that records the event — committed before
    the statement ran (READ COMMITTED takes a snapshot per statement). A webhook whose creation
    commits later is not among them, even if its transaction began earlier and its
    `created_at` is older; one committed before is, even if the event's transaction began
    earlier. Comparing timestamps could not give this: `now()` is when a transaction starts,
    not when it commits. There is no window between reading the webhooks and writing the
    event, and no extra round trip. (Deleting a webhook still stops its deliveries: the
    dispatcher skips deleted ones.)
    """
    if not is_registered(event_type):
        raise ValueError(f"{event_type!r} is not in the event catalog (saas.events.catalog)")
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise RuntimeError("events need a tenant-bound session")
    values = {
        "type": event_type,
        "payload": json_safe(payload),
        "causation_depth": int(session.info.get(CAUSATION_DEPTH_KEY, 0)),
    }
    if with_rows or with_update is not None:
        values["id"] = uuid.uuid4()  # the column's Python-side default, as a flush would give it
        _write_together(session, tenant_id, NewRecord(OutboxEvent, values), with_rows, with_update)
    else:
        session.add(OutboxEvent(**values, webhook_ids=_live_webhooks(tenant_id)))
    if not _dispatch_requested(session):
        on_commit(session, _DispatchRequest(tenant_id))


def _write_together(
    session: Session, tenant_id: Any, event: NewRecord, rows: Sequence[Any], change: VersionedUpdate | None = None
) -> None:
    """One INSERT of the event (its column values, `NewRecord`: no ORM object carries them), with
    each row's INSERT as a data-modifying CTE of it: one round trip.

    The session is flushed first, so the change itself is written before its records (rows may
    reference it). Every row is stamped with the session's tenant, as the tenant-bound session
    stamps the rows it flushes (and refuses another tenant's); row-level security checks it too.
    The event's `webhook_ids` are read by the statement itself (`_live_webhooks`).

    The statement has bound parameters only, so one statement object serves every write of the
    same shape (the tables and the columns given: `_together_statement`): SQLAlchemy's compiled
    cache then answers it without building, or computing the cache key of, a new statement. It
    runs on the session's connection (a Core statement: no ORM execution around it).

    With `change`, the statement also holds the UPDATE of the change (`VersionedUpdate`) as a CTE,
    and returns how many rows it updated: anything but one raises `StaleDataError`.
    """
    session.flush()
    parts = [(OutboxEvent.__table__, _column_values(event, tenant_id))]
    parts.extend((_table_of(row), _column_values(row, tenant_id)) for row in rows)
    shape = tuple((table, tuple(values)) for table, values in parts)
    params = {
        f"p{index}_{key}": value
        for index, (_, values) in enumerate(parts)
        for key, value in values.items()
        if key != "tenant_id"  # every row's is the session's (`_column_values`): one parameter
    }
    params[TENANT_PARAM] = tenant_id
    if change is None:
        _together_statement(shape).execute(session, params)
        return
    statement = _together_statement(shape, (change.table, tuple(change.values)))
    params.update({f"{UPDATE_PREFIX}{key}": value for key, value in change.values.items()})
    params[UPDATED_ID], params[UPDATED_VERSION] = change.row_id, change.version
    updated = statement.execute(session, params).scalar_one()
    if updated != 1:
        raise StaleDataError(f"{change.table.name} row {change.row_id} is no longer at version {change.version}")


TENANT_PARAM = "together_tenant_id"
UPDATE_PREFIX = "u_"
UPDATED_ID = "updated_row_id"
UPDATED_VERSION = "updated_row_version"


@functools.lru_cache(maxsize=512)  # a handful of shapes exist (per event and rows' columns)
def _together_statement(
    shape: tuple[tuple[Any, tuple[str, ...]], ...], change: tuple[Any, tuple[str, ...]] | None = None
) -> PreparedWrite:
    """The INSERT of `_write_together` for `shape` (`(table, column keys)`, the event's first), with
    a bound parameter `p<index>_<column>` of the column's type for each value but `tenant_id`
    (every row's the one parameter `together_tenant_id`, the session's tenant) and the event's
    `webhook_ids` read by the statement. With `change` (`(table, column keys)` of a
    `VersionedUpdate`), the UPDATE as a CTE too, the INSERT returning the count of rows it updated."""

    def values(index: int, table: Any, keys: tuple[str, ...]) -> dict[str, Any]:
        return {
            key: bindparam(TENANT_PARAM if key == "tenant_id" else f"p{index}_{key}", type_=table.c[key].type)
            for key in keys
        }

    (event_table, event_keys), *others = shape
    event_values = values(0, event_table, event_keys)
    event_values["webhook_ids"] = _live_webhooks(bindparam(TENANT_PARAM, type_=event_table.c.tenant_id.type))
    statement = insert(event_table).values(event_values)
    for index, (table, keys) in enumerate(others, start=1):
        written = insert(table).values(values(index, table, keys))
        statement = statement.add_cte(written.cte(f"written_{index - 1}"))
    if change is not None:
        table, keys = change
        changed = (
            update(table)
            .where(
                table.c.tenant_id == bindparam(TENANT_PARAM, type_=table.c.tenant_id.type),
                table.c.id == bindparam(UPDATED_ID, type_=table.c.id.type),
                table.c.version == bindparam(UPDATED_VERSION, type_=table.c.version.type),
            )
            .values({key: bindparam(f"{UPDATE_PREFIX}{key}", type_=table.c[key].type) for key in keys})
            .returning(table.c.id)
            .cte("updated")
        )
        statement = statement.add_cte(changed).returning(select(func.count()).select_from(changed).scalar_subquery())
    return PreparedWrite(statement)


def _column_values(row: Any, tenant_id: Any) -> dict[str, Any]:
    """The INSERT values of an ORM object that is not in a session, as the ORM's flush computes
    them: the attributes it was given (None left to a column's default), the columns' Python-side
    defaults for the others; the server fills in the rest."""
    if isinstance(row, NewRecord):
        mapper, given_values = row.entity.__mapper__, row.values
    else:
        state = inspect(row)
        mapper, given_values = state.mapper, state.dict
    values: dict[str, Any] = {}
    for key, column_key, default, may_be_none in _insert_columns(mapper):
        given = given_values.get(key)
        if given is not None or (may_be_none and key in given_values):
            values[column_key] = given
        elif default is not None and getattr(default, "is_scalar", False):
            values[column_key] = default.arg
        elif default is not None and getattr(default, "is_callable", False):
            values[column_key] = default.arg(None)
    if values.get("tenant_id", tenant_id) != tenant_id:
        entity = row.entity if isinstance(row, NewRecord) else type(row)
        raise CrossTenantWrite(f"{entity.__name__} belongs to another tenant")
    values["tenant_id"] = tenant_id
    return values


def _table_of(row: Any) -> Any:
    """The table of a row given to `with_rows`: an ORM object's or a `NewRecord`'s entity's."""
    return row.entity.__table__ if isinstance(row, NewRecord) else type(row).__table__


@functools.cache
def _insert_columns(mapper: Any) -> tuple[tuple[str, str, Any, bool], ...]:
    """A mapper's stored columns for `_column_values`, once per mapper: (attribute, column, the
    column's Python-side default, whether a given None is written as None: no default of either side)."""
    return tuple(
        (attr.key, attr.columns[0].key, attr.columns[0].default,
         attr.columns[0].default is None and attr.columns[0].server_default is None)
        for attr in mapper.column_attrs
        if attr.columns[0].computed is None
    )  # fmt: skip


def emit_events(session: Session, events: list[tuple[str, dict[str, Any]]]) -> None:
    """Record several `(event_type, payload)` events in one statement, as `emit_event` records each.

    One INSERT ... SELECT writes them in the list's order (their `seq` follows it), each with the
    tenant's live webhooks read by that same statement and the session's causation depth; the
    dispatch request is the transaction's one, as for `emit_event`.
    """
    if not events:
        return
    for event_type, _ in events:
        if not is_registered(event_type):
            raise ValueError(f"{event_type!r} is not in the event catalog (saas.events.catalog)")
    tenant_id = bound_tenant(session)
    if tenant_id is None:
        raise RuntimeError("events need a tenant-bound session")
    rows = [{"type": event_type, "payload": json_safe(payload)} for event_type, payload in events]
    session.execute(
        text(
            """
            INSERT INTO outbox_events (tenant_id, type, payload, webhook_ids, causation_depth)
            SELECT CAST(:tenant_id AS uuid), e.event ->> 'type', e.event -> 'payload',
              (SELECT coalesce(array_agg(w.id), '{}'::uuid[]) FROM webhooks w
               WHERE w.tenant_id = CAST(:tenant_id AS uuid) AND w.deleted_at IS NULL),
              :depth
            FROM jsonb_array_elements(CAST(:events AS jsonb)) WITH ORDINALITY AS e(event, n)
            ORDER BY e.n
            """
        ),
        {
            "tenant_id": tenant_id,
            "events": orjson.dumps(rows).decode(),
            "depth": int(session.info.get(CAUSATION_DEPTH_KEY, 0)),
        },
    )
    if not _dispatch_requested(session):
        on_commit(session, _DispatchRequest(tenant_id))


class _DispatchRequest:
    """The after-commit call that asks for dispatch; one per transaction and tenant.

    It lives in the transaction's after-commit list, so a rollback drops it with the
    events it was for. A failure to enqueue is logged and counted, never raised into the
    committed caller (`run_after_commit`): the periodic sweep dispatches what was committed
    but not announced. A `RedisStep`: the queued mark's `SET NX` (`ask_for_dispatch`) goes in
    the round trip of the commit's live messages when they go to the same client.
    """

    def __init__(self, tenant_id: Any) -> None:
        self.tenant_id = tenant_id

    def __call__(self) -> None:
        request_dispatch(self.tenant_id)

    def redis_client(self) -> Any:
        from saas.events.dispatch import mark_client  # dispatch emits events: imported when used

        return mark_client()

    def queue(self, pipeline: Any) -> int:
        from saas.events.dispatch import queue_mark

        return queue_mark(pipeline, self.tenant_id)

    def finish(self, replies: list[Any]) -> None:
        request_dispatch(self.tenant_id, marked=replies[0])

    def __repr__(self) -> str:
        return f"dispatch request of tenant {self.tenant_id} (the outbox sweep dispatches its events)"


def _dispatch_requested(session: Session) -> bool:
    return any(isinstance(cb, _DispatchRequest) for cb in session.info.get(AFTER_COMMIT_KEY, ()))
