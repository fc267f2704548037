"""Webhooks, their deliveries and attempts; the listing of tenants the outbox sweep must visit.

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

# The outbox sweep needs the tenants with events (or deliveries) left behind, across tenants.
# Like `enabled_plugin_tenants()` (0004) it walks the tenants and looks at each one under the
# ordinary row-level security policy, setting `app.tenant_id` itself. It runs with the
# caller's rights, not SECURITY DEFINER: forced RLS binds the table owner as well, and a
# definer function owned by a superuser would bypass RLS altogether. It puts the caller's
# `app.tenant_id` back before returning (a `SET` clause on the function would need a
# superuser owner). It returns tenant ids only, never event data.
SWEEP_FUNCTION = """
CREATE FUNCTION tenants_needing_dispatch(event_age interval, delivery_age interval)
RETURNS SETOF uuid
LANGUAGE plpgsql VOLATILE
AS $$
DECLARE
    caller_tenant text := coalesce(current_setting('app.tenant_id', true), '');
    t uuid;
BEGIN
    FOR t IN SELECT id FROM tenants ORDER BY id LOOP
        PERFORM set_config('app.tenant_id', t::text, true);
        IF EXISTS (
            SELECT 1 FROM outbox_events
            WHERE tenant_id = t AND dispatched_at IS NULL AND created_at < now() - event_age
        ) OR EXISTS (
            SELECT 1 FROM webhook_deliveries
            WHERE tenant_id = t AND status = 'pending' AND updated_at < now() - delivery_age
        ) THEN
            RETURN NEXT t;
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', caller_tenant, true);
END
$$
"""


def upgrade() -> None:
    op.create_table(
        "webhooks",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("url", sa.String(length=2000), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.String(length=100)), nullable=False),
        sa.Column("secret_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_webhooks_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhooks")),
    )
    op.create_index("ix_webhooks_tenant_created", "webhooks", ["tenant_id", "created_at", "id"], unique=False)
    op.create_table(
        "webhook_deliveries",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("webhook_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("payload", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=20), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('pending', 'succeeded', 'failed')", name=op.f("ck_webhook_deliveries_status")),
        sa.ForeignKeyConstraint(
            ["tenant_id", "webhook_id"],
            ["webhooks.tenant_id", "webhooks.id"],
            name=op.f("fk_webhook_deliveries_tenant_id_webhook_id_webhooks"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_deliveries")),
        sa.UniqueConstraint(
            "tenant_id", "webhook_id", "event_id", name=op.f("uq_webhook_deliveries_tenant_id_webhook_id_event_id")
        ),
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_event", "webhook_deliveries", ["tenant_id", "event_id", "id"], unique=False
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_webhook",
        "webhook_deliveries",
        ["tenant_id", "webhook_id", "event_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_pending",
        "webhook_deliveries",
        ["tenant_id", "updated_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("delivery_id", sa.UUID(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "delivery_id"],
            ["webhook_deliveries.tenant_id", "webhook_deliveries.id"],
            name=op.f("fk_webhook_attempts_tenant_id_delivery_id_webhook_deliveries"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_webhook_attempts")),
        sa.UniqueConstraint(
            "tenant_id", "delivery_id", "attempt", name=op.f("uq_webhook_attempts_tenant_id_delivery_id_attempt")
        ),
    )
    op.execute(SWEEP_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS tenants_needing_dispatch(interval, interval)")
    op.drop_table("webhook_attempts")
    op.drop_index(
        "ix_webhook_deliveries_tenant_pending",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_webhook_deliveries_tenant_webhook", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_tenant_event", table_name="webhook_deliveries")
    op.drop_table("webhook_deliveries")
    op.drop_index("ix_webhooks_tenant_created", table_name="webhooks")
    op.drop_table("webhooks")
