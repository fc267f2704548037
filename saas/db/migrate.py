"""`saas migrate`: create the app role, run Alembic to the head, secure every tenant table."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from saas.config import Settings
from saas.db.rls import ensure_app_role, secure_schema

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Serialises concurrent `saas migrate` runs (several pods starting at once).
MIGRATION_LOCK_ID = 724_311_001


def alembic_config(connection: object | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


def migrate(owner_engine: Engine, settings: Settings) -> list[str]:
    """Bring the database to the newest schema; safe to run twice. Returns the tenant tables."""
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        ensure_app_role(conn, settings)
        command.upgrade(alembic_config(conn), "heads")
        return secure_schema(conn, settings)
