"""The first wall: the tenant-bound session filters, stamps and refuses foreign rows."""

from __future__ import annotations

import socket
import uuid

import pytest
import redis
from prometheus_client import REGISTRY
from sqlalchemy import event, select, text

from saas.customers.models import Customer
from saas.realtime import publish
from saas.runtime import Runtime
from saas.tenancy.session import CrossTenantWrite, on_commit, tenant_session
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
