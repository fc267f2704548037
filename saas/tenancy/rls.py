"""Row-level security, grants and the application role: one place that makes every tenant table safe.

After every migration run, `secure_schema` finds each table with a `tenant_id` column,
enables and forces row-level security on it with the tenant policy, and grants the
application role what it needs. Plugin tables get the same treatment without asking.
"""

from __future__ import annotations

from sqlalchemy import Connection, text

from saas.config import Settings
from saas.tenancy.session import TENANT_SETTING

POLICY_NAME = "tenant_isolation"
TENANT_PREDICATE = f"tenant_id = NULLIF(current_setting('{TENANT_SETTING}', true), '')::uuid"

# Global tables the application reads and writes (the tenant registry and user accounts).
GLOBAL_TABLES = ("tenants", "users")
# Tables that describe the schema, read (never written) by the application: an export records
# the revisions it was taken at, and a restore refuses an archive of another schema.
SCHEMA_TABLES = ("alembic_version", "plugin_revisions")


def quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def tenant_tables(conn: Connection) -> list[str]:
    rows = conn.execute(
        text(
            """
            SELECT c.table_name FROM information_schema.columns c
            JOIN information_schema.tables t
              ON t.table_schema = c.table_schema AND t.table_name = c.table_name
            WHERE c.table_schema = current_schema() AND c.column_name = 'tenant_id'
              AND t.table_type = 'BASE TABLE'
            ORDER BY c.table_name
            """
        )
    )
    return [r[0] for r in rows]


def ensure_app_role(conn: Connection, settings: Settings) -> None:
    """Create the login role the application uses: no ownership, no BYPASSRLS, no superuser.

    An existing role only gets its password set (a non-superuser owner may not touch the
    other attributes), and is refused if it could bypass row-level security.
    """
    role = quote_ident(settings.app_role)
    password = settings.app_role_password.replace("'", "''")
    existing = conn.execute(
        text("SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = :r"), {"r": settings.app_role}
    ).first()
    if existing is None:
        conn.execute(
            text(f"CREATE ROLE {role} LOGIN NOSUPERUSER NOBYPASSRLS NOCREATEDB NOCREATEROLE PASSWORD '{password}'")
        )
        return
    if existing.rolsuper or existing.rolbypassrls:
        raise RuntimeError(
            f"The application role {settings.app_role} is a superuser or has BYPASSRLS; "
            "row-level security would not apply. Use a plain role (SAAS_APP_ROLE)."
        )
    conn.execute(text(f"ALTER ROLE {role} LOGIN PASSWORD '{password}'"))


def secure_schema(conn: Connection, settings: Settings) -> list[str]:
    """Force RLS with the tenant policy on every tenant table and grant the app role; idempotent."""
    role = quote_ident(settings.app_role)
    database = conn.execute(text("SELECT current_database()")).scalar_one()
    conn.execute(text(f"GRANT CONNECT ON DATABASE {quote_ident(database)} TO {role}"))
    conn.execute(text(f"GRANT USAGE ON SCHEMA public TO {role}"))
    tables = tenant_tables(conn)
    for table in tables:
        t = quote_ident(table)
        conn.execute(text(f"ALTER TABLE {t} ENABLE ROW LEVEL SECURITY"))
        conn.execute(text(f"ALTER TABLE {t} FORCE ROW LEVEL SECURITY"))
        conn.execute(text(f"DROP POLICY IF EXISTS {POLICY_NAME} ON {t}"))
        conn.execute(
            text(f"CREATE POLICY {POLICY_NAME} ON {t} USING ({TENANT_PREDICATE}) WITH CHECK ({TENANT_PREDICATE})")
        )
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {t} TO {role}"))
    for table in GLOBAL_TABLES:
        conn.execute(text(f"GRANT SELECT, INSERT, UPDATE ON {quote_ident(table)} TO {role}"))
    for table in SCHEMA_TABLES:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": table}).scalar() is not None:
            conn.execute(text(f"GRANT SELECT ON {quote_ident(table)} TO {role}"))
    conn.execute(text(f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {role}"))
    return tables
