"""The scheduler's listing of which tenants enabled which plugin, in one round trip.

`tenant_plugins` is under forced row-level security: a transaction sees one tenant's rows.
The scheduler needs, for each plugin's periodic job, the tenants that enabled the plugin.
`enabled_plugin_tenants()` walks the tenants and reads each one's enabled plugins under the
ordinary policy, setting `app.tenant_id` per tenant exactly as a tenant-bound session does.
It runs with the caller's rights (no SECURITY DEFINER: forced RLS applies to the table owner
too, and the application role may already read any one tenant), and puts the caller's
`app.tenant_id` back before it returns, so the caller's transaction keeps its own tenant (or
none). (A `SET app.tenant_id` clause on the function would do that too, but PostgreSQL lets
only superusers attach a custom setting to a function, and the owner need not be one.)

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION enabled_plugin_tenants()
        RETURNS TABLE (tenant_id uuid, plugin text)
        LANGUAGE plpgsql VOLATILE
        AS $$
        #variable_conflict use_column
        DECLARE
            caller_tenant text := coalesce(current_setting('app.tenant_id', true), '');
            tenant uuid;
        BEGIN
            FOR tenant IN SELECT t.id FROM tenants t ORDER BY t.id LOOP
                PERFORM set_config('app.tenant_id', tenant::text, true);
                RETURN QUERY
                    SELECT p.tenant_id, p.name::text FROM tenant_plugins p
                    WHERE p.tenant_id = tenant AND p.enabled;
            END LOOP;
            PERFORM set_config('app.tenant_id', caller_tenant, true);
        END
        $$
        """
    )


def downgrade() -> None:
    op.execute("DROP FUNCTION IF EXISTS enabled_plugin_tenants()")
