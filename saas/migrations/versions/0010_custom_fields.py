"""Custom fields: per-tenant definitions, the values of unique fields, contacts' custom_fields,
and GIN indexes for filtering customers and contacts by a custom field (`@>`).

The GIN indexes use `jsonb_path_ops` (containment only, smaller and faster than the default);
they are not led by `tenant_id` (that would need the btree_gin extension): the planner combines
them with the tenant's btree indexes, and row-level security adds the tenant predicate anyway.

Revision ID: 0010_custom_fields
Revises: 0009
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0010_custom_fields"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "custom_field_definitions",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("id", sa.UUID(), server_default=sa.text("gen_random_uuid()"), nullable=False),
        sa.Column("entity", sa.String(length=20), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("type", sa.String(length=20), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("unique", sa.Boolean(), nullable=False),
        sa.Column("options", postgresql.ARRAY(sa.Text()), server_default="{}", nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), server_default="1", nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), server_default=sa.text("now()"), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"],
            ["tenants.id"],
            name=op.f("fk_custom_field_definitions_tenant_id_tenants"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "id", name=op.f("pk_custom_field_definitions")),
    )
    op.create_index(
        "uq_custom_field_definitions_tenant_entity_key",
        "custom_field_definitions",
        ["tenant_id", "entity", "key"],
        unique=True,
    )
    op.create_index(
        "ix_custom_field_definitions_tenant_entity_position",
        "custom_field_definitions",
        ["tenant_id", "entity", "position", "id"],
        unique=False,
    )
    op.create_table(
        "custom_field_unique_values",
        sa.Column("tenant_id", sa.UUID(), nullable=False),
        sa.Column("definition_id", sa.UUID(), nullable=False),
        sa.Column("value_key", sa.Text(), nullable=False),
        sa.Column("record_id", sa.UUID(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id", "definition_id"],
            ["custom_field_definitions.tenant_id", "custom_field_definitions.id"],
            name=op.f("fk_custom_field_unique_values_tenant_id_definition_id_custom_field_definitions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("tenant_id", "definition_id", "value_key", name=op.f("pk_custom_field_unique_values")),
    )
    op.create_index(
        "uq_custom_field_unique_values_record",
        "custom_field_unique_values",
        ["tenant_id", "definition_id", "record_id"],
        unique=True,
    )
    op.add_column(
        "contacts",
        sa.Column(
            "custom_fields",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
    )
    for table in ("customers", "contacts"):
        op.create_index(
            f"ix_{table}_custom_fields",
            table,
            ["custom_fields"],
            unique=False,
            postgresql_using="gin",
            postgresql_ops={"custom_fields": "jsonb_path_ops"},
        )


def downgrade() -> None:
    for table in ("contacts", "customers"):
        op.drop_index(f"ix_{table}_custom_fields", table_name=table, postgresql_using="gin")
    op.drop_column("contacts", "custom_fields")
    op.drop_index("uq_custom_field_unique_values_record", table_name="custom_field_unique_values")
    op.drop_table("custom_field_unique_values")
    op.drop_index("ix_custom_field_definitions_tenant_entity_position", table_name="custom_field_definitions")
    op.drop_index("uq_custom_field_definitions_tenant_entity_key", table_name="custom_field_definitions")
    op.drop_table("custom_field_definitions")
