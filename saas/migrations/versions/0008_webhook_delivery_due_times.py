"""Webhook attempts logged before their POST; deliveries carry when their next attempt is due.

- `webhook_attempts.duration_ms` may be NULL: an attempt is written (and committed) before its
  request goes out, and gets its answer when it comes back. A row that never gets one records
  an attempt cut short (e.g. a worker killed mid-request).
- `webhook_deliveries.next_attempt_at`: the latest time a job for the pending delivery should
  be running (at creation: now; during an attempt: its timeout; after a failed one: the
  longest backoff before the retry). The outbox sweep enqueues again a pending delivery
  overdue by more than a minute, instead of one untouched for about 21 minutes.
- `tenants_needing_dispatch(event_age, overdue)` lists tenants by that due time.

Revision ID: 0008
Revises: 0007
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

# As in 0005: the caller's rights under the ordinary row-level security policy, tenant by
# tenant, the caller's `app.tenant_id` put back; tenant ids out, never event data.
SWEEP_FUNCTION = """
CREATE FUNCTION tenants_needing_dispatch(event_age interval, overdue interval)
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
            WHERE tenant_id = t AND status = 'pending' AND next_attempt_at < now() - overdue
        ) THEN
            RETURN NEXT t;
        END IF;
    END LOOP;
    PERFORM set_config('app.tenant_id', caller_tenant, true);
END
$$
"""


def upgrade() -> None:
    op.alter_column("webhook_attempts", "duration_ms", existing_type=sa.Integer(), nullable=True)
    op.add_column(
        "webhook_deliveries",
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
    )
    op.drop_index(
        "ix_webhook_deliveries_tenant_pending",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_due",
        "webhook_deliveries",
        ["tenant_id", "next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.execute("DROP FUNCTION IF EXISTS tenants_needing_dispatch(interval, interval)")
    op.execute(SWEEP_FUNCTION)


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS tenants_needing_dispatch(interval, interval)")
    op.execute(
        SWEEP_FUNCTION.replace("overdue interval", "delivery_age interval").replace(
            "next_attempt_at < now() - overdue", "updated_at < now() - delivery_age"
        )
    )
    op.drop_index(
        "ix_webhook_deliveries_tenant_due",
        table_name="webhook_deliveries",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_pending",
        "webhook_deliveries",
        ["tenant_id", "updated_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_column("webhook_deliveries", "next_attempt_at")
    op.execute("UPDATE webhook_attempts SET duration_ms = 0 WHERE duration_ms IS NULL")
    op.alter_column("webhook_attempts", "duration_ms", existing_type=sa.Integer(), nullable=False)
