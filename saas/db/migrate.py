"""`saas migrate`: create the app role, run Alembic to the head, secure every tenant table."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from saas.config import Settings
from saas.db.rls import ensure_app_role, secure_schema
from saas.plugins.host import PluginHost

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
# Serialises concurrent `saas migrate` runs (several pods starting at once).
MIGRATION_LOCK_ID = 724_311_001


def alembic_config(connection: object | None = None, plugin_dirs: Sequence[Path] = ()) -> Config:
    """The core's revisions plus each plugin's branch (its own folder of revisions)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [MIGRATIONS_DIR / "versions", *plugin_dirs]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.attributes["connection"] = connection
    return config


def migrate(owner_engine: Engine, settings: Settings, plugins: PluginHost | None = None) -> list[str]:
    """Bring the core and every installed plugin to its newest schema; safe to run twice.

    Returns the tenant tables, each secured with forced row-level security.
    """
    plugin_dirs = [p.migrations_dir for p in plugins.healthy() if p.migrations_dir] if plugins else []
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
        conn.execute(text("CREATE EXTENSION IF NOT EXISTS pg_trgm"))
        ensure_app_role(conn, settings)
        command.upgrade(alembic_config(conn, plugin_dirs), "heads")
        return secure_schema(conn, settings)
