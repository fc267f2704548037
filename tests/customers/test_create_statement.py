"""`create_customer` writes the customer, its audit entry and its event in one statement (the
customer's and the entry's INSERTs as data-modifying CTEs of the event's: `emit_event` with
`NewRecord`s), the customer object, the audit snapshot and the payload built from the values it
knows before the statement runs, nothing read back: they must be the row written. Run as the
application role (row-level security on), prepared and as text."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from sqlalchemy import Engine, inspect, text
from sqlalchemy.exc import IntegrityError

from saas.audit.log import change_entry, change_record, json_safe, snapshot
from saas.auth.permissions import ALL_PERMISSIONS
from saas.auth.principal import Principal
from saas.config import Settings
from saas.customers import service as customers
from saas.customers.models import Customer
from saas.db.engine import create_app_engine
from saas.db.records import NewRecord
from saas.errors import InputInvalid, UserErrorCode
from saas.events.catalog import CUSTOMER_CREATED
from saas.events.outbox import _column_values, emit_event
from saas.schema.relay import to_global_id
from saas.tenancy.session import CrossTenantWrite, tenant_session
from tests.conftest import TenantHandle


@pytest.fixture(params=[True, False], ids=["prepared", "text"])
def app_engine(request: Any, settings: Settings, migrated: str) -> Iterator[Engine]:
    """The application role's engine, its write statements prepared or sent as text."""
    engine = create_app_engine(settings.model_copy(update={"db_prepared_writes": request.param}), migrated)
    yield engine
    engine.dispose()


def _principal(tenant_id: uuid.UUID) -> Principal:
    return Principal(tenant_id=tenant_id, label="test", permissions=ALL_PERMISSIONS)


def _written(engine: Engine, tenant_id: uuid.UUID, customer_id: uuid.UUID) -> dict[str, Any]:
    """What the tenant sees of the customer and of its records, after the commit."""
    with tenant_session(engine, tenant_id) as session:
        stored = session.get(Customer, (tenant_id, customer_id))
        audit = session.execute(
            text("SELECT action, before, after FROM audit_log WHERE entity_id = :id"), {"id": str(customer_id)}
        ).all()
        events = session.execute(
            text("SELECT type, payload FROM outbox_events WHERE payload::text LIKE :id"),
            {"id": f"%{to_global_id('Customer', customer_id)}%"},
        ).all()
        return {
            "customer": stored,
            "snapshot": snapshot(stored) if stored is not None else None,
            "payload": orjson.loads(orjson.dumps(json_safe(customers.event_payload(stored)))) if stored else None,
            "audit": [tuple(row) for row in audit],
            "events": [tuple(row) for row in events],
        }


def test_the_defaults_given_are_the_servers(app_engine: Engine, tenant: TenantHandle) -> None:
    """`NEW_CUSTOMER_DEFAULTS` are what the server fills in when the INSERT leaves a column out."""
    with tenant_session(app_engine, tenant.id) as session:
        row = (
            session.execute(
                text("INSERT INTO customers (tenant_id, id, name) VALUES (:tenant, :id, 'Plain') RETURNING *"),
                {"tenant": tenant.id, "id": uuid.uuid4()},
            )
            .one()
            ._mapping
        )
        session.rollback()
    for key, default in customers.NEW_CUSTOMER_DEFAULTS.items():
        if key != "name":
            assert row[key] == default, key


def test_the_audit_entry_and_the_event_are_those_of_the_row_written(app_engine: Engine, tenant: TenantHandle) -> None:
    principal = _principal(tenant.id)
    data = {"name": "  Written   Ltd ", "tags": ["b", "a"], "industry": "Retail", "notes": "n", "tier": "gold"}
    with tenant_session(app_engine, tenant.id) as session:
        created = customers.create_customer(session, principal, data)
        # The session's own persistent customer, as a flush leaves it (the computed key read on demand).
        assert inspect(created).persistent and created in session
        assert created.name_key == created.name.lower()
        returned = {column.key: getattr(created, column.key) for column in Customer.__table__.c}
    seen = _written(app_engine, tenant.id, created.id)
    stored = seen["customer"]
    assert {column.key: getattr(stored, column.key) for column in Customer.__table__.c} == returned
    assert (stored.version, stored.kind, stored.lifecycle_stage, stored.tags) == (1, "company", "lead", ["b", "a"])
    assert stored.created_at == stored.updated_at
    assert seen["audit"] == [("customer.created", None, seen["snapshot"])]
    assert seen["events"] == [("customer.created", seen["payload"])]


def test_another_tenant_sees_nothing_of_it(
    app_engine: Engine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    with tenant_session(app_engine, tenant.id) as session:
        created = customers.create_customer(session, _principal(tenant.id), {"name": "Walled Ltd"})
    assert _written(app_engine, tenant.id, created.id)["audit"]
    theirs = _written(app_engine, other_tenant.id, created.id)
    assert (theirs["customer"], theirs["audit"], theirs["events"]) == (None, [], [])
    with tenant_session(app_engine, other_tenant.id) as session:  # not a duplicate of another tenant's
        second = customers.create_customer(session, _principal(other_tenant.id), {"name": "Walled Ltd"})
    assert second.tenant_id == other_tenant.id != created.tenant_id


def _values(name: str, **more: Any) -> dict[str, Any]:
    now = customers._now()
    return {
        **customers.NEW_CUSTOMER_DEFAULTS,
        "name": name,
        "id": uuid.uuid4(),
        "created_at": now,
        "updated_at": now,
        **more,
    }


def _nothing_written(engine: Engine, tenant_ids: list[uuid.UUID], customer_id: uuid.UUID) -> None:
    for tenant_id in tenant_ids:
        seen = _written(engine, tenant_id, customer_id)
        assert (seen["customer"], seen["audit"], seen["events"]) == (None, [], [])


def test_a_row_or_record_of_another_tenant_is_refused_and_nothing_is_written(
    app_engine: Engine, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    principal = _principal(tenant.id)
    foreign = _values("Foreign Ltd", tenant_id=other_tenant.id)
    with pytest.raises(CrossTenantWrite), tenant_session(app_engine, tenant.id) as session:
        emit_event(session, CUSTOMER_CREATED, {}, with_rows=[NewRecord(Customer, foreign)])
    _nothing_written(app_engine, [tenant.id, other_tenant.id], foreign["id"])
    values = _values("Own Ltd")
    entry = change_entry(principal, CUSTOMER_CREATED, "Customer", values["id"], None, {})
    entry.tenant_id = other_tenant.id
    with pytest.raises(CrossTenantWrite), tenant_session(app_engine, tenant.id) as session:
        emit_event(session, CUSTOMER_CREATED, {}, with_rows=[NewRecord(Customer, values), entry])
    _nothing_written(app_engine, [tenant.id, other_tenant.id], values["id"])
    record = change_record(principal, CUSTOMER_CREATED, "Customer", values["id"], None, {})
    foreign_record = NewRecord(record.entity, {**record.values, "tenant_id": other_tenant.id})
    with pytest.raises(CrossTenantWrite), tenant_session(app_engine, tenant.id) as session:
        emit_event(session, CUSTOMER_CREATED, {}, with_rows=[NewRecord(Customer, values), foreign_record])
    _nothing_written(app_engine, [tenant.id, other_tenant.id], values["id"])


def test_an_entry_given_by_its_values_is_written_as_its_object_would_be(tenant: TenantHandle) -> None:
    """`change_record` (`NewRecord`, no ORM object) and `change_entry` give the statement the same
    columns and values, so the same statement (its shape) and the same entry."""
    principal = _principal(tenant.id)
    for before, after in ((None, {"name": "A"}), ({"name": "A"}, {"name": "B"})):
        entry = change_entry(principal, CUSTOMER_CREATED, "Customer", "c-1", before, after)
        record = change_record(principal, CUSTOMER_CREATED, "Customer", "c-1", before, after)
        assert _column_values(record, tenant.id) == _column_values(entry, tenant.id)
        assert list(_column_values(record, tenant.id)) == list(_column_values(entry, tenant.id))


def test_a_statement_that_fails_writes_none_of_it(app_engine: Engine, tenant: TenantHandle) -> None:
    """An owner that is no member of the tenant: the foreign key refuses the customer's INSERT, and
    the audit entry and event of the same statement go with it."""
    values = _values("Orphan Ltd", owner_id=uuid.uuid4())
    entry = change_entry(_principal(tenant.id), CUSTOMER_CREATED, "Customer", values["id"], None, {})
    with pytest.raises(IntegrityError), tenant_session(app_engine, tenant.id) as session:
        emit_event(session, CUSTOMER_CREATED, {"customer": {}}, with_rows=[NewRecord(Customer, values), entry])
    _nothing_written(app_engine, [tenant.id], values["id"])
    with pytest.raises(ValueError), tenant_session(app_engine, tenant.id) as session:  # not in the catalog
        emit_event(session, "customer.invented", {}, with_rows=[NewRecord(Customer, _values("Uncatalogued Ltd"))])


def test_bad_input_is_a_coded_error_and_writes_nothing(app_engine: Engine, tenant: TenantHandle) -> None:
    with pytest.raises(InputInvalid) as refused, tenant_session(app_engine, tenant.id) as session:
        customers.create_customer(session, _principal(tenant.id), {"name": "x" * 201})
    assert [error.code for error in refused.value.errors] == [UserErrorCode.TOO_LONG]
    with tenant_session(app_engine, tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM customers")).scalar_one() == 0
        assert session.execute(text("SELECT count(*) FROM outbox_events")).scalar_one() == 0


def test_concurrent_creators_of_one_name_write_one_customer_with_one_entry_and_one_event(
    app_engine: Engine, tenant: TenantHandle
) -> None:
    """Four writers of the same new name at once: the duplicate lock serialises them, one writes
    its customer, its audit entry and its event, the others are DUPLICATE and write nothing."""
    start = threading.Barrier(4)
    outcomes: list[Any] = []

    def writer() -> None:
        start.wait(timeout=10)
        try:
            with tenant_session(app_engine, tenant.id) as session:
                outcomes.append(customers.create_customer(session, _principal(tenant.id), {"name": "Race Ltd"}).id)
        except InputInvalid as invalid:
            outcomes.append(invalid.errors[0].code)

    threads = [threading.Thread(target=writer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    created = [outcome for outcome in outcomes if isinstance(outcome, uuid.UUID)]
    assert len(created) == 1
    assert [outcome for outcome in outcomes if outcome not in created] == [UserErrorCode.DUPLICATE] * 3
    with tenant_session(app_engine, tenant.id) as session:
        counts = session.execute(
            text(
                "SELECT (SELECT count(*) FROM customers), (SELECT count(*) FROM audit_log WHERE action = 'customer.created'),"
                " (SELECT count(*) FROM outbox_events WHERE type = 'customer.created')"
            )
        ).one()
    assert tuple(counts) == (1, 1, 1)


def test_customers_created_in_one_transaction_share_its_moment(app_engine: Engine, tenant: TenantHandle) -> None:
    """As the columns' default `now()` had it: one `created_at` per transaction, the next one later."""
    principal = _principal(tenant.id)
    with tenant_session(app_engine, tenant.id) as session:
        first = customers.create_customer(session, principal, {"name": "First Ltd"})
        second = customers.create_customer(session, principal, {"name": "Second Ltd"})
    with tenant_session(app_engine, tenant.id) as session:
        third = customers.create_customer(session, principal, {"name": "Third Ltd"})
    stored = {
        name: _written(app_engine, tenant.id, row.id)["customer"]
        for name, row in (("1", first), ("2", second), ("3", third))
    }
    assert stored["1"].created_at == stored["2"].created_at == stored["2"].updated_at
    assert stored["3"].created_at > stored["2"].created_at
