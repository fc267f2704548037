"""Manufacturing: on hand never exceeds GraphQL's Int (2,147,483,647), so every level can be read back.

Revision ID: mfg_0002
Revises: mfg_0001
"""

from __future__ import annotations

from alembic import op

revision = "mfg_0002"
down_revision = "mfg_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_check_constraint(
        op.f("ck_mfg_stock_levels_on_hand_representable"), "mfg_stock_levels", "on_hand <= 2147483647"
    )


def downgrade() -> None:
    op.drop_constraint(op.f("ck_mfg_stock_levels_on_hand_representable"), "mfg_stock_levels", type_="check")
