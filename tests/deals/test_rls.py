"""Row-level security on every deals table, proven as the application role (no ORM tenant filter)."""

from __future__ import annotations

from sqlalchemy import text

from saas.runtime import Runtime
from saas.tenancy.session import tenant_session
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import (
    DEAL_TABLES,
    create_contract,
    create_customer,
    create_plan,
    in_days,
    pay,
    request_invoice,
)
from tests.deals.test_visibility import _everything


def test_another_tenants_session_sees_and_writes_none_of_the_rows(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    _everything(owner, create_customer(owner), "R")
    tables = [t for t in DEAL_TABLES if t not in ("audit_log", "outbox_events")]
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == runtime.settings.app_role
        conn.rollback()
        for tenant_id, expect_rows in ((tenant.id, True), (other_tenant.id, False)):
            with conn.begin():
                conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
                for table in tables:
                    # raw SQL without a tenant filter: only the policy decides
                    found = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    assert (found > 0) is expect_rows, (table, tenant_id)
        with conn.begin():
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(other_tenant.id)})
            changed = conn.execute(text("UPDATE invoices SET amount = 1")).rowcount
            assert changed == 0
    with tenant_session(runtime.engine, tenant.id) as session:
        assert session.execute(text("SELECT count(*) FROM invoices WHERE amount = 1")).scalar_one() == 0


def test_helpers_make_rows_in_every_table(owner: GraphQLClient) -> None:
    """The fixture above really fills each table (so its checks can fail)."""
    contract = create_contract(owner, create_customer(owner))
    plan = create_plan(owner, contract, [(in_days(1), "1200.00")])
    assert pay(owner, plan["installments"][0]["id"], "1.00")["userErrors"] == []
    assert request_invoice(owner, contract, "1.00")["userErrors"] == []
