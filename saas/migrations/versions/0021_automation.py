"""Automation rules, their run log and round-robin cursors; the causation depth of outbox events.

`automation_runs` has one row per rule and event (unique `(tenant_id, rule_id, event_id)`),
written before the rule's actions run, so that a rule runs at most once per event however often
the event is dispatched. `outbox_events.causation_depth` counts how many automation runs led
to an event (0: a person or a job made it), so that rules triggering each other stop at a limit.
Row-level security and the application role's grants come from `secure_schema`.

Revision ID: 0021_automation
Revises: 0020_imports
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0021_automation"
down_revision = "0020_imports"
branch_labels = None
depends_on = None


def _rule_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["tenant_id", "rule_id"],
        ["automation_rules.tenant_id", "automation_rules.id"],
        name=op.f(f"fk_{table}_tenant_id_rule_id_automation_rules"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.add_column("outbox_events", sa.Column("causation_depth", sa.SmallInteger(), server_default="0", nullable=False))
    op.create_table(
        "automation_rules",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("enabled", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("trigger", sa.String(length=100), nullable=False),
        sa.Column("conditions", postgresql.JSONB(), nullable=False),
        sa.Column("actions", postgresql.JSONB(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_automation_rules_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_automation_rules")),
    )
    op.create_index("ix_automation_rules_tenant_created", "automation_rules", ["tenant_id", "created_at", "id"])
    op.create_index(
        "ix_automation_rules_tenant_trigger",
        "automation_rules",
        ["tenant_id", "trigger"],
        postgresql_where=sa.text("deleted_at IS NULL"),
    )
    op.create_table(
        "automation_runs",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("id", postgresql.UUID(as_uuid=True), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("rule_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("depth", sa.SmallInteger(), server_default="0", nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("outcome", sa.String(length=20), nullable=False),
        sa.Column("error", sa.String(length=500), nullable=True),
        sa.CheckConstraint("outcome IN ('succeeded', 'failed', 'skipped')", name=op.f("ck_automation_runs_outcome")),
        _rule_fk("automation_runs"),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_automation_runs")),
        sa.UniqueConstraint(
            "tenant_id", "rule_id", "event_id", name=op.f("uq_automation_runs_tenant_id_rule_id_event_id")
        ),
    )
    op.create_index("ix_automation_runs_tenant_rule_at", "automation_runs", ["tenant_id", "rule_id", "at"])
    op.create_table(
        "automation_cursors",
        sa.Column("tenant_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("rule_id", postgresql.UUID(as_uuid=True), nullable=False),
        sa.Column("action_index", sa.SmallInteger(), nullable=False),
        sa.Column("position", sa.BigInteger(), server_default="0", nullable=False),
        _rule_fk("automation_cursors"),
        sa.PrimaryKeyConstraint("tenant_id", "rule_id", "action_index", name=op.f("pk_automation_cursors")),
    )


def downgrade() -> None:
    op.drop_table("automation_cursors")
    op.drop_table("automation_runs")
    op.drop_table("automation_rules")
    op.drop_column("outbox_events", "causation_depth")
