"""The first wall: the tenant-bound session filters, stamps and refuses foreign rows."""

from __future__ import annotations

import socket
import uuid
from typing import Any

import pytest
import redis
from prometheus_client import REGISTRY
from sqlalchemy import event, select, text
from sqlalchemy.exc import IntegrityError, PendingRollbackError

from saas.customers.models import Customer
from saas.realtime import publish
from saas.runtime import Runtime
from saas.tenancy.session import CrossTenantWrite, _tenant_criteria, on_commit, session_connection, tenant_session
from tests.conftest import TenantHandle


def test_new_rows_are_stamped_with_the_session_tenant(runtime: Runtime, tenant: TenantHandle) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        customer = Customer(id=uuid.uuid4(), name="Stamped")
        session.add(customer)
        session.flush()
        assert customer.tenant_id == tenant.id


def test_a_row_of_another_tenant_is_refused_before_it_reaches_the_database(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    with pytest.raises(CrossTenantWrite), tenant_session(runtime.engine, other_tenant.id) as session:
        session.add(Customer(id=uuid.uuid4(), tenant_id=tenant.id, name="Planted"))
        session.flush()
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.scalars(select(Customer).where(Customer.name == "Planted")).all() == []


def test_a_session_without_tenant_cannot_write_tenant_rows(runtime: Runtime) -> None:
    with pytest.raises(CrossTenantWrite), tenant_session(runtime.engine, None) as session:
        session.add(Customer(id=uuid.uuid4(), name="Orphan"))
        session.flush()


def test_orm_queries_get_the_tenant_condition(runtime: Runtime, tenant: TenantHandle) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        statement = str(select(Customer).compile())
        assert "WHERE" not in statement  # the condition is added at execution, not by the caller
        captured: list[str] = []

        def capture(conn, cursor, sql, *args):  # type: ignore[no-untyped-def]
            captured.append(sql)

        event.listen(runtime.engine, "before_cursor_execute", capture)
        try:
            session.scalars(select(Customer)).all()
        finally:
            event.remove(runtime.engine, "before_cursor_execute", capture)
        assert any("customers.tenant_id = " in sql for sql in captured), captured


def test_the_tenant_criteria_are_built_once_per_tenant_and_filter_each_tenant_by_its_own_id(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """`_tenant_criteria` is kept per tenant: one tenant's option never filters another's queries
    (the parameters sent carry each session's own tenant; row-level security aside)."""
    names = {}
    for handle in (tenant, other_tenant):
        names[handle.id] = f"Criteria {uuid.uuid4()}"
        with tenant_session(runtime.engine, handle.id) as session:
            session.add(Customer(id=uuid.uuid4(), name=names[handle.id]))
    assert _tenant_criteria(tenant.id) is _tenant_criteria(tenant.id)
    assert _tenant_criteria(tenant.id) is not _tenant_criteria(other_tenant.id)
    sent: list[Any] = []

    def capture(conn, cursor, sql, parameters, *args):  # type: ignore[no-untyped-def]
        sent.append(parameters)

    event.listen(runtime.engine, "before_cursor_execute", capture)
    try:
        for _ in range(2):  # the second time with the options kept from the first
            for handle in (tenant, other_tenant, tenant):
                sent.clear()
                with tenant_session(runtime.engine, handle.id) as session:
                    seen = session.scalars(select(Customer.name).where(Customer.name.in_(names.values()))).all()
                assert seen == [names[handle.id]]
                values = [value for parameters in sent for value in (parameters or {}).values()]
                others = {tenant.id, other_tenant.id} - {handle.id}
                assert handle.id in values and not others & set(values), sent
    finally:
        event.remove(runtime.engine, "before_cursor_execute", capture)


def test_rows_loaded_from_a_textual_statement_are_the_tenants_own(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """A textual statement's rows (a prepared write's `EXECUTE`) get no loader criteria (nothing
    to put them in): row-level security keeps another tenant's row out, as the application role."""
    customer_id = uuid.uuid4()
    with tenant_session(runtime.engine, tenant.id) as session:
        session.add(Customer(id=customer_id, name="Textual"))
    loading = select(Customer).from_statement(text("SELECT * FROM customers WHERE id = :id"))
    with tenant_session(runtime.engine, other_tenant.id) as session:
        assert session.scalars(loading, {"id": customer_id}).all() == []
    with tenant_session(runtime.engine, tenant.id) as session:
        (found,) = session.scalars(loading, {"id": customer_id}).all()
        assert (found.id, found.tenant_id, found.name) == (customer_id, tenant.id, "Textual")
        assert found in session  # loaded as the session's object, as before


def test_set_local_tenant_does_not_outlive_the_transaction(runtime: Runtime, tenant: TenantHandle) -> None:
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar() == str(tenant.id)
    with runtime.engine.connect() as conn:
        leftover = conn.execute(text("SELECT current_setting('app.tenant_id', true)")).scalar()
        assert leftover in (None, "")


def test_work_after_commit_that_fails_never_turns_the_commit_into_an_error(
    runtime: Runtime, tenant: TenantHandle
) -> None:
    """A publish to a Redis that is not there fails after commit: logged, counted, and the
    caller (and the next after-commit work) carry on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nowhere = redis.Redis(port=probe.getsockname()[1], socket_connect_timeout=1)
    before = REGISTRY.get_sample_value("after_commit_failures_total") or 0.0
    ran: list[str] = []
    with tenant_session(runtime.engine, tenant.id) as session:
        session.add(Customer(id=uuid.uuid4(), name="Committed Anyway"))
        on_commit(session, lambda: publish(nowhere, tenant.id, "customers", {"kind": "customer.created"}))
        on_commit(session, lambda: ran.append("next"))
    assert ran == ["next"]
    assert REGISTRY.get_sample_value("after_commit_failures_total") == before + 1
    with tenant_session(runtime.engine, tenant.id) as session:
        assert len(session.scalars(select(Customer).where(Customer.name == "Committed Anyway")).all()) == 1


def test_the_kept_connection_is_the_current_transactions_and_carries_its_tenant(
    runtime: Runtime, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    """`session_connection` is `session.connection()` of the current transaction: after a commit
    the next transaction's (with its own tenant setting), in a savepoint the savepoint's, and in a
    transaction a failed flush deactivated it raises as `session.connection()` raises."""
    setting = text("SELECT current_setting('app.tenant_id')")
    with tenant_session(runtime.engine, tenant.id) as session:
        first = session_connection(session)
        assert first is session.connection() and session_connection(session) is first
        assert first.execute(setting).scalar_one() == str(tenant.id)
        session.commit()
        second = session_connection(session)
        assert second is session.connection() and second is not first
        assert second.execute(setting).scalar_one() == str(tenant.id)
        with session.begin_nested():
            assert session_connection(session) is session.connection()
        assert session_connection(session) is session.connection()
    taken = uuid.uuid4()
    with tenant_session(runtime.engine, tenant.id) as session:
        session.add(Customer(id=taken, name="Taken"))
    with tenant_session(runtime.engine, other_tenant.id) as session:  # another tenant's session: its own
        assert session_connection(session).execute(setting).scalar_one() == str(other_tenant.id)
        assert session_connection(session).execute(select(Customer.id).where(Customer.id == taken)).all() == []
    with pytest.raises(PendingRollbackError), tenant_session(runtime.engine, tenant.id) as session:
        session_connection(session)
        session.add(Customer(id=taken, name="Taken again"))
        with pytest.raises(IntegrityError):
            session.flush()
        session_connection(session)
    with tenant_session(runtime.engine, tenant.id) as session:
        names = session.scalars(select(Customer.name).where(Customer.id == taken)).all()
    assert names == ["Taken"]
