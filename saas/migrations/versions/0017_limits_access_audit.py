"""Per-tenant query-cost limits on the tenants registry; access entries in the audit log.

`tenants.cost_per_minute` and `tenants.max_query_cost` are the operator's overrides (NULL: the
settings' defaults). `audit_log.kind` tells access (logins, API-key use, exports, sensitive
reads) from changes; every entry may name the client's address and user agent.

Revision ID: 0017_limits_access_audit
Revises: 0016_timeline_entries
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0017_limits_access_audit"
down_revision = "0016_timeline_entries"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tenants", sa.Column("cost_per_minute", sa.Integer(), nullable=True))
    op.add_column("tenants", sa.Column("max_query_cost", sa.Integer(), nullable=True))
    op.add_column("audit_log", sa.Column("kind", sa.String(length=10), server_default="change", nullable=False))
    op.add_column("audit_log", sa.Column("client_address", sa.String(length=64), nullable=True))
    op.add_column("audit_log", sa.Column("user_agent", sa.String(length=300), nullable=True))
    op.create_index("ix_audit_log_tenant_kind", "audit_log", ["tenant_id", "kind", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_audit_log_tenant_kind", table_name="audit_log")
    op.drop_column("audit_log", "user_agent")
    op.drop_column("audit_log", "client_address")
    op.drop_column("audit_log", "kind")
    op.drop_column("tenants", "max_query_cost")
    op.drop_column("tenants", "cost_per_minute")
