"""Lower-case copies of the searched text: `leads.name_key`, `tickets.subject_key` and
`tickets.body_key`, stored (`customers.name_key`, `leads.company_key` and `leads.email_key`
exist already, `0025_duplicate_keys` and `0026_contact_keys`).

The lists' `search` filters matched `ILIKE '%term%'` against the columns. Under row-level
security PostgreSQL uses no index for it (`ILIKE` is not leakproof: the trigram indexes on
`customers.name`, `tickets.subject` and `tickets.body` serve no query of the application role),
so a search reads every row of the tenant until its page is full, and for a term that matches
little or nothing, all of them. With a multi-byte encoding, `ILIKE` lower-cases both the row's
value and the pattern for every row, most of that read's cost. The searches now compare the
stored lower-case copy with `LIKE` and the pattern lower-cased once (`lower(a) LIKE lower(b)` is
what `a ILIKE b` computes, so the same rows match).

Adding a stored generated column rewrites the table (`leads`, `tickets`) under an exclusive lock.

Revision ID: 0027_search_keys
Revises: 0026_contact_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0027_search_keys"
down_revision = "0026_contact_keys"
branch_labels = None
depends_on = None

KEYS = (("leads", "name_key", "name"), ("tickets", "subject_key", "subject"), ("tickets", "body_key", "body"))


def upgrade() -> None:
    for table, key, column in KEYS:
        op.add_column(table, sa.Column(key, sa.Text(), sa.Computed(f"lower({column})", persisted=True)))
    op.execute("ANALYZE leads (name_key)")
    op.execute("ANALYZE tickets (subject_key, body_key)")


def downgrade() -> None:
    for table, key, _ in reversed(KEYS):
        op.drop_column(table, key)
