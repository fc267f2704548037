"""Articles remember the ticket whose resolution wrote them; `article_uses` counts the tickets an
article helped with (one row per article and ticket, so recording a use again changes nothing).

`articles.source_ticket_id` points at the resolved ticket within the same tenant (composite
foreign key), and a partial unique index allows one article per ticket: two concurrent
resolutions of the same ticket cannot both write one.

Revision ID: 0018_service_links
Revises: 0017_limits_access_audit
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0018_service_links"
down_revision = "0017_limits_access_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("articles", sa.Column("source_ticket_id", postgresql.UUID(as_uuid=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_articles_tenant_id_tickets"),
        "articles",
        "tickets",
        ["tenant_id", "source_ticket_id"],
        ["tenant_id", "id"],
    )
    op.create_index(
        "ux_articles_tenant_source_ticket",
        "articles",
        ["tenant_id", "source_ticket_id"],
        unique=True,
        postgresql_where=sa.text("source_ticket_id IS NOT NULL"),
    )

    op.create_table(
        "article_uses",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("article_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("ticket_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("used_by_id", postgresql.UUID(as_uuid=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_article_uses_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "article_id"],
            ["articles.tenant_id", "articles.id"],
            name=op.f("fk_article_uses_tenant_id_articles"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id", "ticket_id"],
            ["tickets.tenant_id", "tickets.id"],
            name=op.f("fk_article_uses_tenant_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "article_id", "ticket_id", name=op.f("pk_article_uses")),
    )
    op.create_index("ix_article_uses_tenant_ticket", "article_uses", ["tenant_id", "ticket_id"])
    op.add_column("work_orders", sa.Column("ticket_id", postgresql.UUID(as_uuid=True), nullable=True))
    op.create_foreign_key(
        op.f("fk_work_orders_tenant_id_tickets"),
        "work_orders",
        "tickets",
        ["tenant_id", "ticket_id"],
        ["tenant_id", "id"],
    )
    op.create_index("ix_work_orders_tenant_ticket", "work_orders", ["tenant_id", "ticket_id"])


def downgrade() -> None:
    op.drop_index("ix_work_orders_tenant_ticket", table_name="work_orders")
    op.drop_constraint(op.f("fk_work_orders_tenant_id_tickets"), "work_orders", type_="foreignkey")
    op.drop_column("work_orders", "ticket_id")
    op.drop_table("article_uses")
    op.drop_index("ux_articles_tenant_source_ticket", table_name="articles")
    op.drop_constraint(op.f("fk_articles_tenant_id_tickets"), "articles", type_="foreignkey")
    op.drop_column("articles", "source_ticket_id")
