"""The knowledge base (articles and their search columns), return requests and their lines, work orders.

Search: `articles.search_vector` (tsvector, written by the service from jieba's words, see
`saas/knowledge/text.py`) has a GIN index led by `tenant_id`, and `articles.search_text` a
trigram GIN index (pg_trgm) led by `tenant_id`; leading with the uuid column in a GIN index
takes btree_gin. A technician's non-cancelled work orders never overlap: an exclusion
constraint over (tenant_id, technician_id, tstzrange(starts_at, ends_at)) with btree_gist,
whose GiST index also serves the technician's calendar. pg_trgm, btree_gin and btree_gist are
trusted extensions shipped with PostgreSQL (the machine's 15 and the embedded build alike).

Row-level security and the application role's grants come from `secure_schema`, which runs
after every migration and covers every table with a `tenant_id`.

Revision ID: 0014_knowledge_returns
Revises: 0013_leads
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0014_knowledge_returns"
down_revision = "0013_leads"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _member_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        ["memberships.tenant_id", "memberships.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_memberships"),
    )


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "customer_id"],
        ["customers.tenant_id", "customers.id"],
        name=op.f(f"fk_{table}_tenant_id_customer_id_customers"),
        ondelete="RESTRICT",
    )


def _id() -> sa.Column:
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _timestamps() -> list[sa.Column]:
    return [
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    ]


def upgrade() -> None:
    for extension in ("pg_trgm", "btree_gin", "btree_gist"):
        op.execute(f"CREATE EXTENSION IF NOT EXISTS {extension}")

    op.create_table(
        "articles",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        _id(),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("solution", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.String(length=50)), server_default="{}", nullable=False),
        sa.Column("status", sa.String(length=10), server_default="draft", nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        sa.Column("search_vector", postgresql.TSVECTOR(), server_default=sa.text("''::tsvector"), nullable=False),
        sa.Column("search_text", sa.Text(), server_default="", nullable=False),
        *_timestamps(),
        sa.CheckConstraint("status IN ('draft', 'published')", name=op.f("ck_articles_status_known")),
        sa.CheckConstraint(
            "(status = 'published') = (published_at IS NOT NULL)",
            name=op.f("ck_articles_published_at_when_published"),
        ),
        _tenant_fk("articles"),
        _member_fk("articles", "created_by_id"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_articles")),
    )
    op.create_index("ix_articles_tenant_created", "articles", ["tenant_id", "created_at", "id"])
    op.create_index("ix_articles_tenant_status", "articles", ["tenant_id", "status", "created_at", "id"])
    op.create_index("ix_articles_search_vector", "articles", ["tenant_id", "search_vector"], postgresql_using="gin")
    op.create_index(
        "ix_articles_search_trigrams",
        "articles",
        ["tenant_id", "search_text"],
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )

    op.create_table(
        "return_requests",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        _id(),
        sa.Column("order_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="requested", nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("value", sa.Numeric(16, 2), nullable=False),
        sa.Column("refunded_amount", sa.Numeric(16, 2), nullable=True),
        sa.Column("requested_by_id", sa.UUID(), nullable=True),
        sa.Column("approved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("refunded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("rejected_at", sa.DateTime(timezone=True), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "status IN ('requested', 'approved', 'received', 'refunded', 'rejected')",
            name=op.f("ck_return_requests_status_known"),
        ),
        sa.CheckConstraint("value >= 0", name=op.f("ck_return_requests_value_not_negative")),
        sa.CheckConstraint(
            "refunded_amount IS NULL OR (refunded_amount > 0 AND refunded_amount <= value)",
            name=op.f("ck_return_requests_refund_within_value"),
        ),
        _tenant_fk("return_requests"),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_id"],
            ["orders.tenant_id", "orders.id"],
            name=op.f("fk_return_requests_tenant_id_order_id_orders"),
            ondelete="RESTRICT",
        ),
        _customer_fk("return_requests"),
        _member_fk("return_requests", "requested_by_id"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_return_requests")),
    )
    op.create_index("ix_return_requests_tenant_created", "return_requests", ["tenant_id", "created_at", "id"])
    op.create_index("ix_return_requests_tenant_order", "return_requests", ["tenant_id", "order_id"])
    op.create_index(
        "ix_return_requests_tenant_customer", "return_requests", ["tenant_id", "customer_id", "created_at", "id"]
    )
    op.create_index("ix_return_requests_tenant_status", "return_requests", ["tenant_id", "status", "created_at", "id"])

    op.create_table(
        "return_lines",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        _id(),
        sa.Column("return_id", sa.UUID(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("order_line_id", sa.UUID(), nullable=False),
        sa.Column("product_id", sa.UUID(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("amount", sa.Numeric(16, 2), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_return_lines_quantity_positive")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "return_id"],
            ["return_requests.tenant_id", "return_requests.id"],
            name=op.f("fk_return_lines_tenant_id_return_id_return_requests"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "order_line_id"],
            ["order_lines.tenant_id", "order_lines.id"],
            name=op.f("fk_return_lines_tenant_id_order_line_id_order_lines"),
            ondelete="RESTRICT",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "product_id"],
            ["products.tenant_id", "products.id"],
            name=op.f("fk_return_lines_tenant_id_product_id_products"),
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_return_lines")),
    )
    op.create_index("ix_return_lines_tenant_return", "return_lines", ["tenant_id", "return_id", "position"])
    op.create_index("ix_return_lines_tenant_order_line", "return_lines", ["tenant_id", "order_line_id"])

    op.create_table(
        "work_orders",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        _id(),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("technician_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("status", sa.String(length=10), server_default="scheduled", nullable=False),
        sa.Column("starts_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ends_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("hours_worked", sa.Numeric(6, 2), nullable=True),
        sa.Column("report", sa.Text(), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        *_timestamps(),
        sa.CheckConstraint(
            "kind IN ('testing', 'installation', 'demo', 'repair')", name=op.f("ck_work_orders_kind_known")
        ),
        sa.CheckConstraint(
            "status IN ('scheduled', 'completed', 'cancelled')", name=op.f("ck_work_orders_status_known")
        ),
        sa.CheckConstraint("ends_at > starts_at", name=op.f("ck_work_orders_ends_after_start")),
        sa.CheckConstraint("hours_worked IS NULL OR hours_worked > 0", name=op.f("ck_work_orders_hours_positive")),
        _tenant_fk("work_orders"),
        _customer_fk("work_orders"),
        _member_fk("work_orders", "technician_id"),
        _member_fk("work_orders", "created_by_id"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_work_orders")),
    )
    op.execute(
        "ALTER TABLE work_orders ADD CONSTRAINT ex_work_orders_technician_no_overlap EXCLUDE USING gist "
        "(tenant_id WITH =, technician_id WITH =, tstzrange(starts_at, ends_at, '[)') WITH &&) "
        "WHERE (status <> 'cancelled')"
    )
    op.create_index("ix_work_orders_tenant_starts", "work_orders", ["tenant_id", "starts_at", "id"])
    op.create_index("ix_work_orders_tenant_customer", "work_orders", ["tenant_id", "customer_id", "starts_at", "id"])


def downgrade() -> None:
    op.drop_table("work_orders")
    op.drop_table("return_lines")
    op.drop_table("return_requests")
    op.drop_table("articles")
