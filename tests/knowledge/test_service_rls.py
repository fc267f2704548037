"""Row-level security on the service tables (articles, returns and their lines, work orders), proven as
the application role with raw SQL (no ORM tenant filter); and the search indexes lead with tenant_id."""

from __future__ import annotations

from sqlalchemy import text

from saas.runtime import Runtime
from tests.conftest import GraphQLClient, TenantHandle
from tests.deals.support import create_customer, member_id
from tests.knowledge.support import create_article
from tests.returns.support import create_order, request_return
from tests.workorders.test_work_orders import _create

TABLES = ("articles", "return_requests", "return_lines", "work_orders")


def test_another_tenant_sees_and_changes_none_of_the_rows(
    runtime: Runtime, owner: GraphQLClient, tenant: TenantHandle, other_tenant: TenantHandle
) -> None:
    create_article(owner, "Row-level")
    order = create_order(owner, (2,))
    assert request_return(owner, order["id"], [(order["lines"][0]["id"], 1)])["userErrors"] == []
    assert _create(owner, create_customer(owner), member_id(owner), 1, 2)["userErrors"] == []
    with runtime.engine.connect() as conn:
        assert conn.execute(text("SELECT current_user")).scalar() == runtime.settings.app_role
        conn.rollback()
        for tenant_id, expect_rows in ((tenant.id, True), (other_tenant.id, False)):
            with conn.begin():
                conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(tenant_id)})
                for table in TABLES:
                    found = conn.execute(text(f"SELECT count(*) FROM {table}")).scalar_one()
                    assert (found > 0) is expect_rows, (table, tenant_id)
        with conn.begin():
            conn.execute(text("SELECT set_config('app.tenant_id', :t, true)"), {"t": str(other_tenant.id)})
            assert conn.execute(text("UPDATE articles SET title = 'x'")).rowcount == 0
            assert conn.execute(text("DELETE FROM work_orders")).rowcount == 0


def test_search_and_calendar_indexes_lead_with_tenant_id(runtime: Runtime) -> None:
    with runtime.engine.connect() as conn:
        definitions = dict(
            conn.execute(
                text(
                    "SELECT indexname, indexdef FROM pg_indexes WHERE indexname IN"
                    " ('ix_articles_search_vector', 'ix_articles_search_trigrams', 'ex_work_orders_technician_no_overlap')"
                )
            ).all()
        )
    assert "USING gin (tenant_id, search_vector)" in definitions["ix_articles_search_vector"]
    assert "USING gin (tenant_id, search_text gin_trgm_ops)" in definitions["ix_articles_search_trigrams"]
    assert "USING gist (tenant_id, technician_id, tstzrange" in definitions["ex_work_orders_technician_no_overlap"]
