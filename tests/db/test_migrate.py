"""`saas migrate`: as a database owner that is not a superuser, twice; with plugins that come and go."""

from __future__ import annotations

import fcntl
import secrets
import uuid
from collections.abc import Iterator
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, text
from sqlalchemy.engine import URL

from saas.accounts.service import create_tenant
from saas.cli import main
from saas.config import Settings
from saas.db.engine import create_app_engine, create_owner_engine, owner_url
from saas.db.migrate import MigrationError, MigrationReport, SkippedPlugin, migrate, run_migrations
from saas.plugin_api.testing import MIGRATION_LOCK, fresh_database, settings_for
from saas.plugin_host.host import ENTRY_POINT_GROUP, PluginHost
from saas.plugin_host.scaffold import new_plugin
from saas.runtime import load_plugins
from saas.tenancy.session import tenant_session
from tests.plugin_host.conftest import host_of
from tests.plugin_host.samples import SamplePlugin


@pytest.fixture
def plain_owner(database_url: str) -> Iterator[tuple[URL, str]]:
    """A fresh database owned by a role with CREATEROLE but no superuser and no BYPASSRLS."""
    suffix = secrets.token_hex(4)
    role, database = f"saas_owner_{suffix}", f"saas_plain_{suffix}"
    server = owner_url(database_url)
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {role} LOGIN CREATEROLE NOSUPERUSER NOBYPASSRLS"))
        conn.execute(text(f"CREATE DATABASE {database} OWNER {role}"))
    yield server.set(username=role, password=None, database=database), f"saas_app_{suffix}"
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {database} WITH (FORCE)"))
        conn.execute(text(f"DROP ROLE IF EXISTS saas_app_{suffix}"))
        conn.execute(text(f"DROP ROLE IF EXISTS {role}"))
    admin.dispose()


def test_migrate_twice_as_a_non_superuser_owner(plain_owner: tuple[URL, str]) -> None:
    url, app_role = plain_owner
    url_text = url.render_as_string(hide_password=False)
    settings = Settings(SAAS_ENV="test", DATABASE_URL=url_text, SAAS_APP_ROLE=app_role)
    owner = create_owner_engine(url_text)
    try:
        with owner.connect() as conn:
            assert conn.execute(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")).scalar() is False
        first = migrate(owner, settings)
        second = migrate(owner, settings)
        assert first == second and "customers" in first
    finally:
        owner.dispose()
    app = create_app_engine(settings, url_text)
    try:
        tenant = create_tenant(app, "plain", "Plain", "owner@plain.example.com", "a long password")
        with tenant_session(app, tenant.id) as session:
            assert session.execute(text("SELECT count(*) FROM memberships")).scalar() == 1
        with tenant_session(app, uuid.uuid4()) as session:
            assert session.execute(text("SELECT count(*) FROM memberships")).scalar() == 0
    finally:
        app.dispose()


def test_migrate_refuses_an_app_role_that_bypasses_rls(plain_owner: tuple[URL, str], database_url: str) -> None:
    url, app_role = plain_owner
    admin = create_engine(owner_url(database_url), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f"CREATE ROLE {app_role} LOGIN BYPASSRLS"))
    admin.dispose()
    url_text = url.render_as_string(hide_password=False)
    owner = create_owner_engine(url_text)
    try:
        with pytest.raises(RuntimeError, match="BYPASSRLS"):
            migrate(owner, Settings(SAAS_ENV="test", DATABASE_URL=url_text, SAAS_APP_ROLE=app_role))
        with owner.connect() as conn:
            assert conn.execute(text("SELECT to_regclass('customers')")).scalar() is None  # nothing was migrated
    finally:
        owner.dispose()


# -- plugins that come and go ----------------------------------------------------------------


@pytest.fixture
def fresh_url() -> Iterator[str]:
    with fresh_database() as url:
        yield url


def _run(url: str, host: PluginHost) -> MigrationReport:
    """`saas migrate` with exactly these plugins (the suite's migrations share the app role: lock)."""
    owner = create_owner_engine(url)
    try:
        with open(MIGRATION_LOCK, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            return run_migrations(owner, settings_for(url), host)
    finally:
        owner.dispose()


def _sql(url: str, statement: str, **params: object) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            result = conn.execute(text(statement), params)
            return [tuple(row) for row in result] if result.returns_rows else []
    finally:
        engine.dispose()


def _versions(url: str) -> list[str]:
    return [row[0] for row in _sql(url, "SELECT version_num FROM alembic_version ORDER BY 1")]


def _without(host: PluginHost, name: str) -> PluginHost:
    """The installed plugins as they load after `name` was uninstalled."""
    kept = PluginHost()
    for plugin in host.healthy():
        if plugin.name != name:
            kept.add(plugin.module, plugin.name)
    kept.check_requirements()
    return kept


def _seed_loyalty_tier(url: str) -> None:
    tenant = uuid.uuid4()
    _sql(url, "INSERT INTO tenants (id, slug, name) VALUES (:id, :slug, 'Kept')", id=tenant, slug=f"k-{tenant.hex[:8]}")
    _sql(url, "INSERT INTO loyalty_tiers (tenant_id, name, min_points) VALUES (:id, 'Gold', 500)", id=tenant)


def _scaffolded(tmp_path: Path, name: str) -> SamplePlugin:
    """A plugin as `saas plugin new` writes it: its root depends on the core's newest revision."""
    versions = new_plugin(name, tmp_path) / f"saas_plugin_{name}" / "migrations" / "versions"
    return SamplePlugin(name, saas_migrations_dir=lambda: versions)


def test_an_uninstalled_plugin_is_skipped_by_name_and_keeps_its_data(fresh_url: str) -> None:
    installed = load_plugins()
    assert _run(fresh_url, installed).skipped == []
    _seed_loyalty_tier(fresh_url)

    report = _run(fresh_url, _without(installed, "loyalty"))
    assert report.skipped == [SkippedPlugin("loyalty", ("loyalty_0002",), "it is not installed (or does not load)")]
    assert "plugin 'loyalty'" in report.skipped[0].describe()
    assert {"loyalty_entries", "loyalty_tiers", "customers", "mfg_orders"} <= set(report.tables)
    assert _sql(fresh_url, "SELECT name, min_points FROM loyalty_tiers") == [("Gold", 500)]
    assert "loyalty_0002" in _versions(fresh_url)

    # Installed again: its branch resumes where it stopped, with its data.
    assert _run(fresh_url, load_plugins()).skipped == []
    assert _sql(fresh_url, "SELECT name, min_points FROM loyalty_tiers") == [("Gold", 500)]


def test_a_plugin_that_fails_to_import_is_skipped_by_name(fresh_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _run(fresh_url, load_plugins())
    _seed_loyalty_tier(fresh_url)
    real = list(entry_points(group=ENTRY_POINT_GROUP))
    broken = EntryPoint(name="loyalty", value="saas_plugin_loyalty_that_was_removed", group=ENTRY_POINT_GROUP)
    entries = [broken if e.name == "loyalty" else e for e in real]
    monkeypatch.setattr("saas.plugin_host.host.entry_points", lambda group: entries)

    report = _run(fresh_url, load_plugins())
    [skipped] = report.skipped
    assert skipped.name == "loyalty" and skipped.revisions == ("loyalty_0002",)
    assert skipped.reason.startswith("it does not load: import failed")
    assert _sql(fresh_url, "SELECT name FROM loyalty_tiers") == [("Gold",)]


def test_a_removed_plugin_that_depended_on_the_core_head_does_not_restart_the_core(
    fresh_url: str, tmp_path: Path
) -> None:
    """Alembic keeps only the plugin's row then: without a stand-in, the core would start over."""
    keeper = _scaffolded(tmp_path, "keeper")
    _run(fresh_url, host_of(keeper))
    assert _versions(fresh_url) == ["keeper_0001"]
    tenant = uuid.uuid4()
    _sql(fresh_url, "INSERT INTO tenants (id, slug, name) VALUES (:id, 'keeper', 'Keeper')", id=tenant)
    _sql(fresh_url, "INSERT INTO keeper_items (tenant_id, name) VALUES (:id, 'kept')", id=tenant)

    report = _run(fresh_url, PluginHost())
    assert [(s.name, s.revisions) for s in report.skipped] == [("keeper", ("keeper_0001",))]
    assert _sql(fresh_url, "SELECT name FROM keeper_items") == [("kept",)]
    assert _run(fresh_url, host_of(keeper)).skipped == []
    assert _versions(fresh_url) == ["keeper_0001"]


def test_revision_ids_must_be_unique_across_the_core_and_the_plugins(fresh_url: str, tmp_path: Path) -> None:
    first = _scaffolded(tmp_path / "first", "first")
    # The same revision id in another plugin (e.g. a copied folder), and a core revision id.
    second = _scaffolded(tmp_path / "second", "second")
    second_script = tmp_path / "second/saas-plugin-second/saas_plugin_second/migrations/versions/0001_initial.py"
    second_script.write_text(second_script.read_text().replace('"second_0001"', '"first_0001"'))
    third = _scaffolded(tmp_path / "third", "third")
    third_script = tmp_path / "third/saas-plugin-third/saas_plugin_third/migrations/versions/0001_initial.py"
    third_script.write_text(third_script.read_text().replace('"third_0001"', '"0001"'))

    report = _run(fresh_url, host_of(first, second, third))
    assert [(s.name, s.revisions) for s in report.skipped] == [("second", ("first_0001",)), ("third", ("0001",))]
    assert "plugin 'first'" in report.skipped[0].reason and "the core" in report.skipped[1].reason
    assert "first_items" in report.tables and not {"second_items", "third_items"} & set(report.tables)

    # Once `first` is gone, its recorded revision still is not `second`'s to take.
    report = _run(fresh_url, host_of(second))
    assert [(s.name, s.revisions) for s in report.skipped] == [("second", ("first_0001",)), ("first", ("first_0001",))]
    assert "second_items" not in report.tables


def test_unknown_revisions_that_hide_the_core_revision_are_refused_clearly(fresh_url: str, tmp_path: Path) -> None:
    _run(fresh_url, host_of(_scaffolded(tmp_path, "keeper")))
    _sql(fresh_url, "DELETE FROM plugin_revisions")  # as migrated by a version that did not record them
    with pytest.raises(MigrationError, match=r"cannot tell the core's revision.*keeper_0001"):
        _run(fresh_url, PluginHost())
    assert _versions(fresh_url) == ["keeper_0001"]


def test_an_unrecorded_plugin_revision_is_skipped_when_the_core_revision_is_known(fresh_url: str) -> None:
    installed = load_plugins()
    _run(fresh_url, installed)
    _sql(fresh_url, "DELETE FROM plugin_revisions")
    report = _run(fresh_url, _without(installed, "loyalty"))
    assert [(s.name, s.revisions) for s in report.skipped] == [(None, ("loyalty_0002",))]
    assert "an unrecorded plugin" in report.skipped[0].describe()


def test_saas_migrate_warns_about_a_missing_plugin_and_succeeds(
    fresh_url: str, monkeypatch: pytest.MonkeyPatch, settings: Settings
) -> None:
    installed = load_plugins()
    _run(fresh_url, installed)
    monkeypatch.setenv("SAAS_ENV", "test")
    monkeypatch.setenv("DATABASE_URL", fresh_url)
    monkeypatch.setenv("REDIS_URL", str(settings.redis_url))
    monkeypatch.setattr("saas.runtime.load_plugins", lambda: _without(installed, "loyalty"))
    with open(MIGRATION_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        result = CliRunner().invoke(main, ["migrate"])
    assert result.exit_code == 0, result.output
    assert "Warning: skipped plugin 'loyalty' (loyalty_0002)" in result.stderr
    assert "  loyalty_tiers\n" in result.stdout
