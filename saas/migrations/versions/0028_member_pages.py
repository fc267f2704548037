"""One member's pages in their order: indexes on the tenant, the member and the page's order for
the customers (`owner_id`, by name), the leads (`owner_id`) and the tickets (`assignee_id`), newest
first. (The opportunities' `ix_opportunities_tenant_owner` has that form already; their owner's
page stays planned for its value, see `ORDERED_MEMBER_PAGES`.)

The `ownerId` and `assigneeId` filters were planned for their value on every read
(`saas.db.prepared.plan_cache_mode`): with the member's index alone (`tenant_id, owner_id`), a
plan made once, estimating the average member's rows, read all of a busy member's rows and sorted
them (65 ms for bench-big's owner of 33,000 customers). With the page's order in the index, the
one generic plan walks it and stops at the page's end, for a busy member as for a quiet one, and
those pages are no longer planned on every read (0.4-0.9 ms of planning each).
`ix_customers_tenant_owner_name` replaces `ix_customers_tenant_owner`, whose columns it starts
with.

Revision ID: 0028_member_pages
Revises: 0027_search_keys
"""

from __future__ import annotations

from alembic import op

revision = "0028_member_pages"
down_revision = "0027_search_keys"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_customers_tenant_owner_name", "customers", ["tenant_id", "owner_id", "name", "id"])
    op.drop_index("ix_customers_tenant_owner", table_name="customers")
    op.create_index("ix_leads_tenant_owner_created", "leads", ["tenant_id", "owner_id", "created_at", "id"])
    op.create_index("ix_tickets_tenant_assignee_created", "tickets", ["tenant_id", "assignee_id", "created_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_tickets_tenant_assignee_created", table_name="tickets")
    op.drop_index("ix_leads_tenant_owner_created", table_name="leads")
    op.create_index("ix_customers_tenant_owner", "customers", ["tenant_id", "owner_id"])
    op.drop_index("ix_customers_tenant_owner_name", table_name="customers")
