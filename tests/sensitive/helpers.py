"""Helpers of the sensitive fields tests: definitions, reads, and the stored rows as they are."""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.schema.helpers import create_customer, define_custom_fields, raw_id

CUSTOMERS = """query($filter: CustomerFilterInput) {
  customers(first: 50, filter: $filter) { totalCount edges { node { id name customFields } } }
}"""
CUSTOMER = "query($id: ID!) { customer(id: $id) { id name customFields } }"
CUSTOMER_WITH_CONTACTS = """query($id: ID!) {
  customer(id: $id) { id contacts { id name phone email customFields } }
}"""
SET_SENSITIVE = """mutation($input: SetSensitiveFieldsInput!) {
  setSensitiveFields(input: $input) {
    sensitiveFields { entity field sensitive }
    reencryptRun { id keyVersion status processed }
    userErrors { field code message }
  }
}"""
NATIONAL_ID = "AB1234567890"


def customer_with_national_id(client: Any, name: str = "Acme Ltd", value: str = NATIONAL_ID) -> dict[str, Any]:
    define_custom_fields(client, nationalId="SENSITIVE")
    return create_customer(client, name=name, customFields={"nationalId": value})


def stored_custom_fields(runtime: Runtime, tenant_id: uuid.UUID, customer_id: str) -> dict[str, Any]:
    with tenant_session(runtime.engine, tenant_id) as session:
        value = session.execute(
            text("SELECT custom_fields FROM customers WHERE id = :id"), {"id": raw_id(customer_id)}
        ).scalar_one()
    assert isinstance(value, dict)
    return value


def sensitive_reads(runtime: Runtime, tenant_id: uuid.UUID) -> int:
    with tenant_session(runtime.engine, tenant_id) as session:
        return int(session.execute(text("SELECT count(*) FROM audit_log WHERE action = 'sensitive.read'")).scalar_one())
