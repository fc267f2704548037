"""Helpers of the job tests: customers and plugin switches written directly, as the tenant."""

from __future__ import annotations

import uuid

from sqlalchemy import select

from saas.customers.models import Customer
from saas.jobs.models import ProcessedJob
from saas.plugin_host.models import TenantPlugin
from saas.runtime import Runtime
from saas.tenancy.session import tenant_session


def add_customer(runtime: Runtime, tenant_id: uuid.UUID, name: str) -> uuid.UUID:
    with tenant_session(runtime.engine, tenant_id) as session:
        customer = Customer(name=name)
        session.add(customer)
        session.flush()
        return customer.id


def customers_named(runtime: Runtime, tenant_id: uuid.UUID, name: str) -> int:
    with tenant_session(runtime.engine, tenant_id) as session:
        return len(session.scalars(select(Customer.id).where(Customer.name == name)).all())


def processed(runtime: Runtime, tenant_id: uuid.UUID, message_id: str) -> int:
    with tenant_session(runtime.engine, tenant_id) as session:
        return len(session.scalars(select(ProcessedJob.job).where(ProcessedJob.message_id == message_id)).all())


def switch_plugin(runtime: Runtime, tenant_id: uuid.UUID, name: str, enabled: bool) -> None:
    with tenant_session(runtime.engine, tenant_id) as session:
        row = session.get(TenantPlugin, (tenant_id, name))
        if row is None:
            session.add(TenantPlugin(name=name, enabled=enabled))
        else:
            row.enabled = enabled
