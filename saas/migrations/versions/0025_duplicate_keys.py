"""Duplicate-check keys: `customers.name_key` and `leads.company_key`, stored lower-case copies of the
name and company, each indexed with the tenant.

The duplicate check compared `lower(name)` with the value. Under row-level security PostgreSQL
does not use an index for a condition with a function that is not leakproof (`lower` is not), so
the expression indexes on `lower(name)` and `lower(company)` went unused and each check read every
customer of the tenant. The check now compares the generated column with `=`, which can.

Revision ID: 0025_duplicate_keys
Revises: 0024_campaigns_exports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0025_duplicate_keys"
down_revision = "0024_campaigns_exports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("customers", sa.Column("name_key", sa.Text(), sa.Computed("lower(name)", persisted=True)))
    op.create_index("ix_customers_tenant_name_key", "customers", ["tenant_id", "name_key"])
    op.drop_index("ix_customers_tenant_name_lower", table_name="customers")
    op.add_column("leads", sa.Column("company_key", sa.Text(), sa.Computed("lower(company)", persisted=True)))
    op.create_index("ix_leads_tenant_company_key", "leads", ["tenant_id", "company_key"])
    op.drop_index("ix_leads_tenant_company", table_name="leads")
    # The new columns' statistics now, so that the planner picks their indexes from the start.
    op.execute("ANALYZE customers (name_key)")
    op.execute("ANALYZE leads (company_key)")


def downgrade() -> None:
    op.create_index("ix_leads_tenant_company", "leads", ["tenant_id", sa.text("lower(company)")])
    op.drop_index("ix_leads_tenant_company_key", table_name="leads")
    op.drop_column("leads", "company_key")
    op.create_index("ix_customers_tenant_name_lower", "customers", ["tenant_id", sa.text("lower(name)")])
    op.drop_index("ix_customers_tenant_name_key", table_name="customers")
    op.drop_column("customers", "name_key")
