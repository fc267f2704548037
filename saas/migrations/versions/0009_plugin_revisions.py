"""Which plugin each applied plugin revision belongs to, and the revisions it stands for.

Alembic's version table keeps only the newest revision of each branch, and a plugin's row can
stand for core revisions too (a plugin root that `depends_on` the core's head replaces the
core's row). When the plugin is later uninstalled or fails to import, its scripts are gone and
Alembic can no longer read the table. `saas migrate` records here, for every revision of every
plugin it migrated, the plugin's name and the revisions outside the plugin that it implies, so
that it can name the missing plugin and step around its branch, leaving its tables and data as
they are. Only the schema owner reads it; it holds no tenant data.

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "plugin_revisions",
        sa.Column("revision", sa.String(length=64), nullable=False),
        sa.Column("plugin", sa.String(length=100), nullable=False),
        sa.Column("implies", postgresql.ARRAY(sa.String(length=64)), server_default="{}", nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.PrimaryKeyConstraint("revision", name="pk_plugin_revisions"),
    )


def downgrade() -> None:
    op.drop_table("plugin_revisions")
