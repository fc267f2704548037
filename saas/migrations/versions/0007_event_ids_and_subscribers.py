"""Events get UUIDs (the shared sequence becomes an internal `seq`) and keep the webhooks of their moment.

- `outbox_events.id` (one sequence for every tenant: visible, it told a tenant how busy the
  others were) becomes `seq`, used only to order dispatch; a new `id` is a random UUID.
- `outbox_events.webhook_ids`: the tenant's live webhooks when the event was recorded; only
  they receive it. Pending events get today's live webhooks (what dispatch would have used).
- `webhook_deliveries.event_id` becomes the event's UUID; the delivery log is ordered by
  `(occurred_at, event_id, id)`.

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

# Row-level security is forced on these tables, which binds their owner too (`saas migrate`
# runs as the owner): the data steps lift FORCE for this transaction's statements and put it
# back; `saas migrate` forces it again on every tenant table afterwards anyway.
TABLES = ("outbox_events", "webhook_deliveries", "webhooks")


def _unforced(statements: list[str]) -> None:
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} NO FORCE ROW LEVEL SECURITY")
    for statement in statements:
        op.execute(statement)
    for table in TABLES:
        op.execute(f"ALTER TABLE {table} FORCE ROW LEVEL SECURITY")


def upgrade() -> None:
    op.drop_index(
        "ix_outbox_events_tenant_pending", table_name="outbox_events", postgresql_where=sa.text("dispatched_at IS NULL")
    )
    op.alter_column("outbox_events", "id", new_column_name="seq")
    op.add_column(
        "outbox_events",
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
    )
    op.add_column(
        "outbox_events",
        sa.Column("webhook_ids", postgresql.ARRAY(sa.UUID()), server_default=sa.text("'{}'"), nullable=False),
    )
    op.create_unique_constraint(op.f("uq_outbox_events_tenant_id_id"), "outbox_events", ["tenant_id", "id"])
    op.create_index(
        "ix_outbox_events_tenant_pending",
        "outbox_events",
        ["tenant_id", "seq"],
        unique=False,
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )

    op.drop_constraint(
        op.f("uq_webhook_deliveries_tenant_id_webhook_id_event_id"), "webhook_deliveries", type_="unique"
    )
    op.drop_index("ix_webhook_deliveries_tenant_webhook", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_tenant_event", table_name="webhook_deliveries")
    op.add_column("webhook_deliveries", sa.Column("event_uuid", sa.UUID(), nullable=True))
    _unforced(
        [
            """UPDATE outbox_events e SET webhook_ids = coalesce(
                   (SELECT array_agg(w.id) FROM webhooks w
                    WHERE w.tenant_id = e.tenant_id AND w.deleted_at IS NULL), '{}')
               WHERE e.dispatched_at IS NULL""",
            """UPDATE webhook_deliveries d SET event_uuid = e.id
               FROM outbox_events e WHERE e.tenant_id = d.tenant_id AND e.seq = d.event_id""",
            # Deliveries whose event row is gone: one new id per event, shared by its deliveries.
            """UPDATE webhook_deliveries d SET event_uuid = m.event_uuid
               FROM (SELECT tenant_id, event_id, gen_random_uuid() AS event_uuid
                     FROM webhook_deliveries WHERE event_uuid IS NULL GROUP BY tenant_id, event_id) m
               WHERE d.tenant_id = m.tenant_id AND d.event_id = m.event_id AND d.event_uuid IS NULL""",
        ]
    )
    op.drop_column("webhook_deliveries", "event_id")
    op.alter_column("webhook_deliveries", "event_uuid", new_column_name="event_id", nullable=False)
    op.create_unique_constraint(
        op.f("uq_webhook_deliveries_tenant_id_webhook_id_event_id"),
        "webhook_deliveries",
        ["tenant_id", "webhook_id", "event_id"],
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_occurred",
        "webhook_deliveries",
        ["tenant_id", "occurred_at", "event_id", "id"],
        unique=False,
    )
    op.create_index(
        "ix_webhook_deliveries_tenant_webhook",
        "webhook_deliveries",
        ["tenant_id", "webhook_id", "occurred_at", "event_id", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_tenant_webhook", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_tenant_occurred", table_name="webhook_deliveries")
    op.drop_constraint(
        op.f("uq_webhook_deliveries_tenant_id_webhook_id_event_id"), "webhook_deliveries", type_="unique"
    )
    op.add_column("webhook_deliveries", sa.Column("event_seq", sa.BigInteger(), nullable=True))
    _unforced(
        [
            """UPDATE webhook_deliveries d SET event_seq = e.seq
               FROM outbox_events e WHERE e.tenant_id = d.tenant_id AND e.id = d.event_id""",
            "DELETE FROM webhook_deliveries WHERE event_seq IS NULL",
        ]
    )
    op.drop_column("webhook_deliveries", "event_id")
    op.alter_column("webhook_deliveries", "event_seq", new_column_name="event_id", nullable=False)
    op.create_unique_constraint(
        op.f("uq_webhook_deliveries_tenant_id_webhook_id_event_id"),
        "webhook_deliveries",
        ["tenant_id", "webhook_id", "event_id"],
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
    op.drop_index(
        "ix_outbox_events_tenant_pending", table_name="outbox_events", postgresql_where=sa.text("dispatched_at IS NULL")
    )
    op.drop_constraint(op.f("uq_outbox_events_tenant_id_id"), "outbox_events", type_="unique")
    op.drop_column("outbox_events", "webhook_ids")
    op.drop_column("outbox_events", "id")
    op.alter_column("outbox_events", "seq", new_column_name="id")
    op.create_index(
        "ix_outbox_events_tenant_pending",
        "outbox_events",
        ["tenant_id", "id"],
        unique=False,
        postgresql_where=sa.text("dispatched_at IS NULL"),
    )
