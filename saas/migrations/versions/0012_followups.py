"""Follow-ups: activities, tasks, the reminders sent for them, and customer handovers.

Row-level security and grants come from `saas.tenancy.rls.secure_schema`, run after every migration.

Revision ID: 0012_followups
Revises: 0011_deals
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0012_followups"
down_revision = "0011_deals"
branch_labels = None
depends_on = None


def _tenant(table: str) -> list[Any]:
    return [
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f(f"fk_{table}_tenant_id_tenants"), ondelete="CASCADE"
        ),
    ]


def _customer_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "customer_id"],
        ["customers.tenant_id", "customers.id"],
        name=op.f(f"fk_{table}_tenant_id_customer_id_customers"),
        ondelete="CASCADE",
    )


def _member_fk(table: str, column: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", column],
        ["memberships.tenant_id", "memberships.id"],
        name=op.f(f"fk_{table}_tenant_id_{column}_memberships"),
        ondelete="RESTRICT",
    )


def _id() -> sa.Column:
    return sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False)


def _at(name: str, *, nullable: bool = False, default: bool = False) -> sa.Column:
    return sa.Column(
        name, sa.DateTime(timezone=True), server_default=sa.text("now()") if default else None, nullable=nullable
    )


def upgrade() -> None:
    op.create_table(
        "activities",
        *_tenant("activities"),
        _id(),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        _at("occurred_at"),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        _at("created_at", default=True),
        _customer_fk("activities"),
        _member_fk("activities", "actor_id"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_activities")),
    )
    op.create_index(
        "ix_activities_tenant_customer", "activities", ["tenant_id", "customer_id", "occurred_at", "id"], unique=False
    )
    op.create_index(
        "ix_activities_tenant_subject",
        "activities",
        ["tenant_id", "subject_type", "subject_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_table(
        "tasks",
        *_tenant("tasks"),
        _id(),
        sa.Column("subject_type", sa.String(length=40), nullable=False),
        sa.Column("subject_id", sa.UUID(), nullable=False),
        sa.Column("customer_id", sa.UUID(), nullable=True),
        sa.Column("title", sa.String(length=200), nullable=False),
        _at("due_at"),
        _at("remind_at", nullable=True),
        sa.Column("assignee_id", sa.UUID(), nullable=False),
        sa.Column("created_by_id", sa.UUID(), nullable=True),
        _at("completed_at", nullable=True),
        sa.Column("completed_by_id", sa.UUID(), nullable=True),
        _at("created_at", default=True),
        _at("updated_at", default=True),
        _customer_fk("tasks"),
        _member_fk("tasks", "assignee_id"),
        _member_fk("tasks", "created_by_id"),
        _member_fk("tasks", "completed_by_id"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_tasks")),
    )
    op.create_index(
        "ix_tasks_tenant_assignee_open",
        "tasks",
        ["tenant_id", "assignee_id", "due_at", "id"],
        unique=False,
        postgresql_where=sa.text("completed_at IS NULL"),
    )
    op.create_index("ix_tasks_tenant_customer", "tasks", ["tenant_id", "customer_id", "created_at", "id"], unique=False)
    op.create_index("ix_tasks_tenant_subject", "tasks", ["tenant_id", "subject_type", "subject_id"], unique=False)
    op.create_index(
        "ix_tasks_tenant_open_due",
        "tasks",
        ["tenant_id", "due_at"],
        unique=False,
        postgresql_where=sa.text("completed_at IS NULL"),
    )
    op.create_table(
        "task_reminders",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("task_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        _at("sent_at", default=True),
        sa.ForeignKeyConstraint(
            ["tenant_id", "task_id"],
            ["tasks.tenant_id", "tasks.id"],
            name=op.f("fk_task_reminders_tenant_id_task_id_tasks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "task_id", "kind", name=op.f("pk_task_reminders")),
    )
    op.create_table(
        "customer_handovers",
        *_tenant("customer_handovers"),
        _id(),
        sa.Column("customer_id", sa.UUID(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("from_member_id", sa.UUID(), nullable=True),
        sa.Column("to_member_id", sa.UUID(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("actor_id", sa.UUID(), nullable=True),
        _at("occurred_at", default=True),
        _customer_fk("customer_handovers"),
        _member_fk("customer_handovers", "from_member_id"),
        _member_fk("customer_handovers", "to_member_id"),
        _member_fk("customer_handovers", "actor_id"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_customer_handovers")),
    )
    op.create_index(
        "ix_customer_handovers_tenant_customer",
        "customer_handovers",
        ["tenant_id", "customer_id", "occurred_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_table("customer_handovers")
    op.drop_table("task_reminders")
    op.drop_table("tasks")
    op.drop_table("activities")
