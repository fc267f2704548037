"""Manufacturing: the core events the plugin has acted on (returned goods back in stock once per event).

Revision ID: mfg_0004
Revises: mfg_0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "mfg_0004"
down_revision = "mfg_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "mfg_handled_events",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("event_id", sa.UUID(), nullable=False),
        sa.Column("event_type", sa.String(length=100), nullable=False),
        sa.Column("handled_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_mfg_handled_events_tenant_id_tenants"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("tenant_id", "event_id", name=op.f("pk_mfg_handled_events")),
    )


def downgrade() -> None:
    op.drop_table("mfg_handled_events")
