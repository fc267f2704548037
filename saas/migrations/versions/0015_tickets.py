"""Tickets, their comments and numbers; ticket types, classification rules, agents' skills, SLA
policies; the customer portal's access records.

Row-level security and the application role's grants come from `secure_schema`, which runs
after every migration and covers every table with a `tenant_id`. The trigram indexes serve the
tickets' `search` filter (`pg_trgm` is created by the migration runner).

Revision ID: 0015_tickets
Revises: 0014_knowledge_returns
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0015_tickets"
down_revision = "0014_knowledge_returns"
branch_labels = None
depends_on = None


def _tenant_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
    )


def _fk(
    table: str, columns: list[str], target: str, target_columns: list[str], ondelete: str
) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", *columns],
        [f"{target}.tenant_id", *(f"{target}.{c}" for c in target_columns)],
        name=op.f(f"fk_{table}_tenant_id_{'_'.join(columns)}_{target}"),
        ondelete=ondelete,
    )


def _now() -> sa.TextClause:
    return sa.text("now()")


def upgrade() -> None:
    op.create_table(
        "portal_accesses",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _tenant_fk("portal_accesses"),
        _fk("portal_accesses", ["customer_id"], "customers", ["id"], "RESTRICT"),
        _fk("portal_accesses", ["contact_id"], "contacts", ["id"], "RESTRICT"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_portal_accesses")),
    )
    op.create_index("ix_portal_accesses_tenant_contact", "portal_accesses", ["tenant_id", "contact_id"])
    op.create_index(
        "ix_portal_accesses_tenant_customer", "portal_accesses", ["tenant_id", "customer_id", "created_at", "id"]
    )
    op.create_index("ix_portal_accesses_tenant_created", "portal_accesses", ["tenant_id", "created_at", "id"])

    op.create_table(
        "ticket_types",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("key", sa.String(length=50), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("skills", postgresql.ARRAY(sa.String(length=50)), server_default="{}", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _tenant_fk("ticket_types"),
        sa.PrimaryKeyConstraint("tenant_id", "key", name=op.f("pk_ticket_types")),
    )

    op.create_table(
        "classification_rules",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("keywords", postgresql.ARRAY(sa.String(length=100)), server_default="{}", nullable=False),
        sa.Column("pattern", sa.String(length=500), nullable=True),
        sa.Column("customer_tier", sa.String(length=20), nullable=True),
        sa.Column("channel", sa.String(length=50), nullable=True),
        sa.Column("set_type", sa.String(length=50), nullable=False),
        sa.Column("set_priority", sa.String(length=10), server_default="normal", nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        _tenant_fk("classification_rules"),
        _fk("classification_rules", ["set_type"], "ticket_types", ["key"], "RESTRICT"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_classification_rules")),
    )
    op.create_index(
        "ix_classification_rules_tenant_position", "classification_rules", ["tenant_id", "position", "created_at", "id"]
    )

    op.create_table(
        "agent_skills",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("membership_id", sa.UUID(), nullable=False),
        sa.Column("skills", postgresql.ARRAY(sa.String(length=50)), server_default="{}", nullable=False),
        sa.Column("last_assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _tenant_fk("agent_skills"),
        _fk("agent_skills", ["membership_id"], "memberships", ["id"], "CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "membership_id", name=op.f("pk_agent_skills")),
    )

    op.create_table(
        "sla_policies",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("priority", sa.String(length=10), nullable=False),
        sa.Column("first_response_minutes", sa.Integer(), nullable=False),
        sa.Column("resolution_minutes", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint(
            "first_response_minutes > 0 AND resolution_minutes > 0", name=op.f("ck_sla_policies_minutes_positive")
        ),
        _tenant_fk("sla_policies"),
        _fk("sla_policies", ["type"], "ticket_types", ["key"], "CASCADE"),
        sa.PrimaryKeyConstraint("tenant_id", "type", "priority", name=op.f("pk_sla_policies")),
    )

    op.create_table(
        "ticket_counters",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        _tenant_fk("ticket_counters"),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_ticket_counters")),
    )

    op.create_table(
        "tickets",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("subject", sa.String(length=200), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("type", sa.String(length=50), nullable=False),
        sa.Column("priority", sa.String(length=10), server_default="normal", nullable=False),
        sa.Column("status", sa.String(length=20), server_default="new", nullable=False),
        sa.Column("channel", sa.String(length=50), nullable=True),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("contact_id", sa.UUID(), nullable=True),
        sa.Column("assignee_id", sa.UUID(), nullable=True),
        sa.Column("classified_by_id", sa.UUID(), nullable=True),
        sa.Column("portal_access_id", sa.UUID(), nullable=True),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("breached_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        sa.CheckConstraint("number > 0", name=op.f("ck_tickets_number_positive")),
        _tenant_fk("tickets"),
        _fk("tickets", ["customer_id"], "customers", ["id"], "RESTRICT"),
        _fk("tickets", ["contact_id"], "contacts", ["id"], "RESTRICT"),
        _fk("tickets", ["assignee_id"], "memberships", ["id"], "RESTRICT"),
        _fk("tickets", ["type"], "ticket_types", ["key"], "RESTRICT"),
        _fk("tickets", ["classified_by_id"], "classification_rules", ["id"], "RESTRICT"),
        _fk("tickets", ["portal_access_id"], "portal_accesses", ["id"], "RESTRICT"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tickets")),
    )
    op.create_index("uq_tickets_tenant_number", "tickets", ["tenant_id", "number"], unique=True)
    op.create_index("ix_tickets_tenant_created", "tickets", ["tenant_id", "created_at", "id"])
    op.create_index("ix_tickets_tenant_status", "tickets", ["tenant_id", "status", "created_at", "id"])
    op.create_index("ix_tickets_tenant_assignee_status", "tickets", ["tenant_id", "assignee_id", "status"])
    op.create_index("ix_tickets_tenant_customer", "tickets", ["tenant_id", "customer_id", "created_at", "id"])
    op.create_index("ix_tickets_tenant_type_status", "tickets", ["tenant_id", "type", "status"])
    op.create_index(
        "ix_tickets_tenant_sla_open",
        "tickets",
        ["tenant_id", "resolution_due_at"],
        postgresql_where=sa.text("breached_at IS NULL AND resolved_at IS NULL"),
    )
    op.create_index(
        "ix_tickets_subject_trgm",
        "tickets",
        ["subject"],
        postgresql_using="gin",
        postgresql_ops={"subject": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_tickets_body_trgm", "tickets", ["body"], postgresql_using="gin", postgresql_ops={"body": "gin_trgm_ops"}
    )

    op.create_table(
        "ticket_comments",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("ticket_id", sa.UUID(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("public", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("author_id", sa.UUID(), nullable=True),
        sa.Column("author_label", sa.String(length=200), nullable=False),
        sa.Column("from_customer", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=_now(), nullable=False),
        _tenant_fk("ticket_comments"),
        _fk("ticket_comments", ["ticket_id"], "tickets", ["id"], "CASCADE"),
        _fk("ticket_comments", ["author_id"], "memberships", ["id"], "RESTRICT"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_ticket_comments")),
    )
    op.create_index(
        "ix_ticket_comments_tenant_ticket", "ticket_comments", ["tenant_id", "ticket_id", "created_at", "id"]
    )


def downgrade() -> None:
    op.drop_table("ticket_comments")
    op.drop_table("tickets")
    op.drop_table("ticket_counters")
    op.drop_table("sla_policies")
    op.drop_table("agent_skills")
    op.drop_table("classification_rules")
    op.drop_table("ticket_types")
    op.drop_table("portal_accesses")
