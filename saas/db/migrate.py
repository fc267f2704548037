"""`saas migrate`: create the app role, run Alembic to the head, secure every tenant table.

The core and every plugin that loads are migrated. A plugin whose branch is in the database
but which is no longer installed, or no longer imports, is skipped and named in the report:
its tables and data stay as they are, and its branch resumes where it stopped once the plugin
is back. Two rules make that hold:

- every revision of a migrated plugin is recorded in `plugin_revisions` with the plugin's
  name and the revisions outside the plugin it implies (migration 0009); for a version-table
  row whose script is missing, `saas migrate` gives Alembic a stand-in revision with the same
  id and the same implications, which is already applied and never runs;
- revision ids are unique across the core and the plugins: a plugin whose ids are already the
  core's, another installed plugin's, or recorded as another plugin's, is skipped too (ids
  start with the plugin's name, as the scaffold writes them: `loyalty_0001`).
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.util import load_python_file
from sqlalchemy import Connection, Engine, text

from saas.config import Settings
from saas.plugin_host.host import PluginHost
from saas.tenancy.rls import ensure_app_role, secure_schema

MIGRATIONS_DIR = Path(__file__).resolve().parent.parent / "migrations"
CORE_VERSIONS = MIGRATIONS_DIR / "versions"
# Serialises concurrent `saas migrate` runs (several pods starting at once).
MIGRATION_LOCK_ID = 724_311_001
# Trusted extensions shipped with PostgreSQL (the machine's and the embedded build): trigram search
# (customers, articles), uuid columns leading GIN indexes, and exclusion constraints over ranges
# with equality columns (a technician's work orders).
EXTENSIONS = ("pg_trgm", "btree_gin", "btree_gist")
# The files Alembic reads as revisions (alembic.script.base: not `__init__`, not editor backups).
REVISION_FILE = re.compile(r"^(?!\.#|__init__).*\.py$")

log = logging.getLogger(__name__)


class MigrationError(RuntimeError):
    """The database's revisions cannot be placed: nothing was changed."""


@dataclass(frozen=True)
class SkippedPlugin:
    """A plugin branch `saas migrate` left alone; its tables and data are kept."""

    name: str | None  # None: its revisions were applied before plugin names were recorded
    revisions: tuple[str, ...]
    reason: str

    def describe(self) -> str:
        who = f"plugin {self.name!r}" if self.name else "an unrecorded plugin"
        revisions = ", ".join(self.revisions)
        return f"skipped {who} ({revisions}): {self.reason}; its tables and data are kept"


@dataclass(frozen=True)
class MigrationReport:
    tables: list[str]  # the tenant tables, each with forced row-level security
    skipped: list[SkippedPlugin] = field(default_factory=list)


@dataclass(frozen=True)
class _Branch:
    plugin: str
    directory: Path
    revisions: frozenset[str]


def alembic_config(connection: object | None = None, plugin_dirs: Sequence[Path] = ()) -> Config:
    """The core's revisions plus each plugin's branch (its own folder of revisions)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    locations = [CORE_VERSIONS, *plugin_dirs]
    config.set_main_option("path_separator", "os")
    config.set_main_option("version_locations", os.pathsep.join(str(p) for p in locations))
    config.attributes["connection"] = connection
    return config


def revision_ids(directory: Path) -> list[str]:
    """The revision ids of the scripts in one folder, read as Alembic reads them."""
    ids = []
    for path in sorted(directory.iterdir()) if directory.is_dir() else []:
        if path.is_file() and REVISION_FILE.match(path.name):
            revision = getattr(load_python_file(str(directory), path.name), "revision", None)
            if isinstance(revision, str):
                ids.append(revision)
    return ids


def migrate(owner_engine: Engine, settings: Settings, plugins: PluginHost | None = None) -> list[str]:
    """Bring the core and every loadable plugin to its newest schema; safe to run twice.

    Returns the tenant tables, each secured with forced row-level security. Skipped plugins
    are logged as warnings (`run_migrations` returns them).
    """
    report = run_migrations(owner_engine, settings, plugins)
    for skipped in report.skipped:
        log.warning("saas migrate %s", skipped.describe())
    return report.tables


def run_migrations(owner_engine: Engine, settings: Settings, plugins: PluginHost | None = None) -> MigrationReport:
    """`migrate`, returning the plugins it skipped as well; all in one transaction, under a lock."""
    with owner_engine.begin() as conn:
        conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": MIGRATION_LOCK_ID})
        for extension in EXTENSIONS:
            conn.execute(text(f"CREATE EXTENSION IF NOT EXISTS {extension}"))
        ensure_app_role(conn, settings)
        recorded = _recorded_revisions(conn)
        branches, skipped = _plugin_branches(plugins, recorded)
        known = set(revision_ids(CORE_VERSIONS)).union(*(b.revisions for b in branches))
        missing = [r for r in _current_revisions(conn) if r not in known]
        skipped += _missing_plugins(missing, recorded, plugins)
        with tempfile.TemporaryDirectory(prefix="saas-migrate-") as stand_ins:
            _write_stand_ins(Path(stand_ins), missing, recorded, known)
            config = alembic_config(conn, [*(b.directory for b in branches), Path(stand_ins)])
            _check_core_is_placed(conn, config, missing)
            command.upgrade(config, "heads")
            _record_revisions(conn, ScriptDirectory.from_config(config), branches)
        return MigrationReport(secure_schema(conn, settings), skipped)


def _recorded_revisions(conn: Connection) -> dict[str, tuple[str, list[str]]]:
    """Revision → (plugin, implied revisions), as earlier runs recorded them (none before 0009)."""
    if conn.execute(text("SELECT to_regclass('plugin_revisions')")).scalar() is None:
        return {}
    rows = conn.execute(text("SELECT revision, plugin, implies FROM plugin_revisions"))
    return {row.revision: (row.plugin, list(row.implies)) for row in rows}


def _current_revisions(conn: Connection) -> list[str]:
    if conn.execute(text("SELECT to_regclass('alembic_version')")).scalar() is None:
        return []
    return list(conn.execute(text("SELECT version_num FROM alembic_version ORDER BY version_num")).scalars())


def _plugin_branches(
    plugins: PluginHost | None, recorded: dict[str, tuple[str, list[str]]]
) -> tuple[list[_Branch], list[SkippedPlugin]]:
    """The healthy plugins' branches whose revision ids are their own; the others, skipped."""
    owners = dict.fromkeys(revision_ids(CORE_VERSIONS), "the core")
    branches: list[_Branch] = []
    skipped: list[SkippedPlugin] = []
    healthy = sorted(plugins.healthy(), key=lambda p: p.name) if plugins else []
    for plugin in healthy:
        if plugin.migrations_dir is None:
            continue
        directory = Path(plugin.migrations_dir)
        ids = revision_ids(directory)
        clashes = {r: owners[r] for r in ids if r in owners}
        clashes |= {r: f"plugin {recorded[r][0]!r}" for r in ids if r in recorded and recorded[r][0] != plugin.name}
        if clashes:
            holders = sorted(set(clashes.values()))
            reason = f"its revision ids are also those of {' and '.join(holders)} (revision ids must be unique)"
            skipped.append(SkippedPlugin(plugin.name, tuple(sorted(clashes)), reason))
            continue
        owners.update(dict.fromkeys(ids, f"plugin {plugin.name!r}"))
        branches.append(_Branch(plugin.name, directory, frozenset(ids)))
    return branches, skipped


def _missing_plugins(
    missing: Iterable[str], recorded: dict[str, tuple[str, list[str]]], plugins: PluginHost | None
) -> list[SkippedPlugin]:
    """The applied revisions without a script, grouped by the plugin that had them."""
    by_plugin: dict[str | None, list[str]] = {}
    for revision in missing:
        by_plugin.setdefault(recorded[revision][0] if revision in recorded else None, []).append(revision)
    skipped = []
    for name, revisions in sorted(by_plugin.items(), key=lambda item: item[0] or ""):
        loaded = plugins.plugins.get(name) if plugins and name else None
        if loaded is not None and loaded.broken:
            reason = "it does not load: " + "; ".join(loaded.problems)
        elif loaded is not None:
            reason = "it no longer provides these revisions"
        else:
            reason = "it is not installed (or does not load)"
        skipped.append(SkippedPlugin(name, tuple(revisions), reason))
    return skipped


def _write_stand_ins(
    directory: Path, missing: Iterable[str], recorded: dict[str, tuple[str, list[str]]], known: set[str]
) -> None:
    """An applied, never-run revision for each missing script, implying what the original did."""
    for number, revision in enumerate(missing):
        implies = tuple(r for r in recorded.get(revision, ("", []))[1] if r in known)
        (directory / f"stand_in_{number}.py").write_text(
            f'"""Stands in for {revision!r} of a plugin that is not loaded; already applied."""\n'
            f"revision = {revision!r}\n"
            "down_revision = None\n"
            "branch_labels = None\n"
            f"depends_on = {implies!r}\n\n\n"
            "def upgrade() -> None:\n"
            f"    raise RuntimeError('{revision} belongs to a plugin that is not loaded')\n\n\n"
            "def downgrade() -> None:\n"
            f"    raise RuntimeError('{revision} belongs to a plugin that is not loaded')\n",
            encoding="utf-8",
        )


def _check_core_is_placed(conn: Connection, config: Config, missing: list[str]) -> None:
    """Refuse to start over on a database whose core revision only a missing plugin knew.

    That happens when a plugin migrated before revisions were recorded depended on the core's
    newest revision (Alembic then keeps only the plugin's row), or when the database is newer
    than this version of saas. Migrating would re-run the core's first revision.
    """
    current = _current_revisions(conn)
    if not missing or not current:
        return
    script = ScriptDirectory.from_config(config)
    core = set(revision_ids(CORE_VERSIONS))
    applied = {r.revision for head in current for r in script.iterate_revisions(head, "base")}
    if not applied & core:
        raise MigrationError(
            f"cannot tell the core's revision: the database is at {', '.join(current)}, and "
            f"{', '.join(missing)} {'is' if len(missing) == 1 else 'are'} unknown here (a newer saas, or a plugin "
            "removed before its revisions were recorded); install that version or plugin again and run "
            "`saas migrate` once, then remove it"
        )


def _record_revisions(conn: Connection, script: ScriptDirectory, branches: Iterable[_Branch]) -> None:
    """Record each migrated plugin revision: its plugin, and the revisions outside it that it implies."""
    for branch in branches:
        for revision in sorted(branch.revisions):
            implies = sorted(
                r.revision for r in script.iterate_revisions(revision, "base") if r.revision not in branch.revisions
            )
            conn.execute(
                text(
                    "INSERT INTO plugin_revisions (revision, plugin, implies) VALUES (:r, :p, :i) "
                    "ON CONFLICT (revision) DO UPDATE SET plugin = EXCLUDED.plugin, implies = EXCLUDED.implies, "
                    "recorded_at = now()"
                ),
                {"r": revision, "p": branch.plugin, "i": implies},
            )
