"""Manufacturing: portal access moved into the core (`portal_accesses`, core revision 0015_tickets).

Every `mfg_portal_access` row is copied into `portal_accesses` with its id, so orders placed
through the portal keep naming their access; `mfg_orders.portal_access_id` then refers to the
core's table, and the plugin's table goes. Tokens issued by the plugin before this migration
named their access under the scope key `mfg_portal_access` and carried the plugin's permissions:
they stop working, and staff give the contacts a core portal access (`createPortalAccess`).

The copy runs as the schema owner with row-level security not forced on the two tables for this
transaction (`secure_schema` forces it again after every migration run), so it copies every
tenant's rows whether or not the owner is a superuser.

Revision ID: mfg_0003
Revises: mfg_0002
"""

from __future__ import annotations

from alembic import op

revision = "mfg_0003"
down_revision = "mfg_0002"
branch_labels = None
depends_on = "0015_tickets"

OLD_FK = "fk_mfg_orders_tenant_id_portal_access_id_mfg_portal_access"
NEW_FK = "fk_mfg_orders_tenant_id_portal_access_id_portal_accesses"


def upgrade() -> None:
    op.execute("ALTER TABLE portal_accesses NO FORCE ROW LEVEL SECURITY")
    op.execute("ALTER TABLE mfg_portal_access NO FORCE ROW LEVEL SECURITY")
    op.execute(
        "INSERT INTO portal_accesses (tenant_id, id, customer_id, contact_id, created_by, expires_at, revoked_at, created_at) "
        "SELECT tenant_id, id, customer_id, contact_id, created_by, expires_at, revoked_at, created_at "
        "FROM mfg_portal_access ON CONFLICT DO NOTHING"
    )
    op.drop_constraint(OLD_FK, "mfg_orders", type_="foreignkey")
    op.create_foreign_key(
        NEW_FK,
        "mfg_orders",
        "portal_accesses",
        ["tenant_id", "portal_access_id"],
        ["tenant_id", "id"],
        ondelete="RESTRICT",
    )
    op.drop_table("mfg_portal_access")


def downgrade() -> None:
    raise NotImplementedError("portal access lives in the core now; restore a backup to go back")
