"""Duplicate-check keys of e-mails and phones: `email_key` and `phone_key` on contacts and leads,
stored (lower-case e-mail, the phone's digits), each indexed with the tenant.

As with `0025_duplicate_keys`: under row-level security PostgreSQL used neither the expression
index on `lower(email)` nor the one on the phone's digits (neither function is leakproof), so every
duplicate check by e-mail or phone read all the tenant's contacts and leads. The checks now compare
the generated columns with `=`.

Each key's index also holds `created_at, id`, the order the checks read the oldest match in: with
the key alone, PostgreSQL could prefer walking the tenant's rows in that order (`LIMIT 1`) and
filter on the key, reading every lead for a company name no lead has. The two keys of
`0025_duplicate_keys` get the same form.

Revision ID: 0026_contact_keys
Revises: 0025_duplicate_keys
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0026_contact_keys"
down_revision = "0025_duplicate_keys"
branch_labels = None
depends_on = None

EMAIL_KEY = "lower(email)"
PHONE_KEY = "regexp_replace(phone, '\\D', '', 'g')"


def upgrade() -> None:
    for table in ("contacts", "leads"):
        op.add_column(table, sa.Column("email_key", sa.Text(), sa.Computed(EMAIL_KEY, persisted=True)))
        op.add_column(table, sa.Column("phone_key", sa.Text(), sa.Computed(PHONE_KEY, persisted=True)))
        op.create_index(f"ix_{table}_tenant_email_key", table, ["tenant_id", "email_key", "created_at", "id"])
        op.create_index(f"ix_{table}_tenant_phone_key", table, ["tenant_id", "phone_key", "created_at", "id"])
        op.drop_index(f"ix_{table}_tenant_email", table_name=table)
        op.drop_index(f"ix_{table}_tenant_phone", table_name=table)
        op.execute(f"ANALYZE {table} (email_key, phone_key)")
    for table, key in (("customers", "name_key"), ("leads", "company_key")):
        op.drop_index(f"ix_{table}_tenant_{key}", table_name=table)
        op.create_index(f"ix_{table}_tenant_{key}", table, ["tenant_id", key, "created_at", "id"])


def downgrade() -> None:
    for table, key in (("customers", "name_key"), ("leads", "company_key")):
        op.drop_index(f"ix_{table}_tenant_{key}", table_name=table)
        op.create_index(f"ix_{table}_tenant_{key}", table, ["tenant_id", key])
    for table in ("leads", "contacts"):
        op.create_index(f"ix_{table}_tenant_phone", table, ["tenant_id", sa.text(PHONE_KEY)])
        op.create_index(f"ix_{table}_tenant_email", table, ["tenant_id", sa.text(EMAIL_KEY)])
        op.drop_index(f"ix_{table}_tenant_phone_key", table_name=table)
        op.drop_index(f"ix_{table}_tenant_email_key", table_name=table)
        op.drop_column(table, "phone_key")
        op.drop_column(table, "email_key")
