"""`saas plugin new` and `saas plugin list`: the generated package installs, migrates and passes its tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from saas.cli import main
from saas.plugin_host.scaffold import PluginNames, ScaffoldError, check_name, core_head, new_plugin
from saas.plugin_host.version import PLUGIN_API_VERSION
from tests.plugin_host.conftest import host_of
from tests.plugin_host.samples import SamplePlugin, graphql_plugin, query_field
from tests.test_layout import layout_problems

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    "name", ["Fleet", "fleet-care", "1fleet", "fleet__care", "fleet_", "_fleet", "class", "core", "", "x" * 31]
)
def test_a_plugin_name_must_be_a_short_lowercase_identifier(name: str) -> None:
    with pytest.raises(ScaffoldError):
        check_name(name)


def test_names_derive_from_the_plugin_name() -> None:
    names = PluginNames.for_plugin("fleet_care", "0042")
    assert (names.package, names.distribution, names.prefix, names.table, names.query) == (
        "saas_plugin_fleet_care",
        "saas-plugin-fleet-care",
        "FleetCare",
        "fleet_care_items",
        "fleetCareItems",
    )
    assert (names.item_query, names.mutation, names.event, names.loader) == (
        "fleetCareItem",
        "createFleetCareItem",
        "fleet_care.item_created",
        "fleet_care.items",
    )


def test_the_scaffold_writes_an_installable_package_with_a_migration_on_the_core_head(tmp_path: Path) -> None:
    root = new_plugin("fleet_care", tmp_path)
    assert root == tmp_path / "saas-plugin-fleet-care"
    files = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
    assert files == [
        "README.md",
        "pyproject.toml",
        "saas_plugin_fleet_care/__init__.py",
        "saas_plugin_fleet_care/graphql/__init__.py",
        "saas_plugin_fleet_care/graphql/contribution.py",
        "saas_plugin_fleet_care/graphql/loaders.py",
        "saas_plugin_fleet_care/graphql/mutations.py",
        "saas_plugin_fleet_care/graphql/queries.py",
        "saas_plugin_fleet_care/graphql/sql.py",
        "saas_plugin_fleet_care/graphql/types.py",
        "saas_plugin_fleet_care/migrations/versions/0001_initial.py",
        "saas_plugin_fleet_care/models.py",
        "saas_plugin_fleet_care/rules.py",
        "saas_plugin_fleet_care/service.py",
        "tests/test_fleet_care.py",
    ]
    # The layout of every domain, as tests/test_layout.py checks the core's and the plugins'.
    assert layout_problems(root / "saas_plugin_fleet_care", plugin=True) == []
    pyproject = (root / "pyproject.toml").read_text()
    assert '[project.entry-points."saas.plugins"]\nfleet_care = "saas_plugin_fleet_care"' in pyproject
    assert "[project.optional-dependencies]\n# `pip install" in pyproject  # the test extra ...
    assert 'test = ["pytest>=' in pyproject  # ... brings pytest for `python -m pytest`
    migration = (root / "saas_plugin_fleet_care/migrations/versions/0001_initial.py").read_text()
    assert 'revision = "fleet_care_0001"' in migration  # namespaced by the plugin's name
    assert 'branch_labels = ("fleet_care",)' in migration
    assert f'depends_on = "{core_head()}"' in migration
    for path in root.rglob("*.py"):
        compile(path.read_text(), str(path), "exec")
    with pytest.raises(ScaffoldError, match="already exists"):
        new_plugin("fleet_care", tmp_path)


def test_a_generated_plugin_installs_as_its_own_distribution_and_passes_its_tests(tmp_path: Path) -> None:
    """Installed into a folder of its own (not the shared venv, which other test runs use meanwhile).

    Its own tests enable it for a tenant, create an item (`createScaffoldedItem`, bad input as
    `userErrors`), page the items, read one by id (compiled) and through `node(id)`, and check
    that another tenant sees none of it."""
    root = new_plugin("scaffolded", tmp_path / "src")
    site = tmp_path / "site"
    install = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    install += ["--no-deps", "--no-build-isolation", "--target", str(site), str(root)]
    subprocess.run(install, check=True, capture_output=True, timeout=300)
    assert (site / "saas_plugin_scaffolded" / "migrations" / "versions" / "0001_initial.py").exists()
    [metadata] = site.glob("saas_plugin_scaffolded-0.1.0.dist-info/METADATA")
    assert "Provides-Extra: test" in metadata.read_text()
    assert any(
        line.startswith("Requires-Dist: pytest") and 'extra == "test"' in line
        for line in metadata.read_text().splitlines()
    )

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(site), os.environ.get("PYTHONPATH")]))}
    listed = subprocess.run(
        [str(Path(sys.executable).with_name("saas")), "plugin", "list"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert listed.returncode == 0, listed.stderr
    assert any(
        line.split()[:2] == ["scaffolded", "0.1.0"] and line.split()[-1] == "ok" for line in listed.stdout.splitlines()
    )

    tests = subprocess.run(
        [sys.executable, "-m", "pytest", str(root), "-q", "-p", "no:cacheprovider"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert tests.returncode == 0, tests.stdout[-4000:] + tests.stderr[-4000:]
    assert "4 passed" in tests.stdout


def test_the_scaffold_refuses_the_name_of_an_installed_plugin(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="a plugin named 'loyalty' is already installed"):
        new_plugin("loyalty", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_scaffold_refuses_a_name_that_is_a_plugin_in_the_folder(tmp_path: Path) -> None:
    existing = tmp_path / "fleet"
    existing.mkdir()
    (existing / "pyproject.toml").write_text(
        '[project]\nname = "fleet-plugin"\n\n[project.entry-points."saas.plugins"]\nfleet = "fleet_plugin"\n'
    )
    with pytest.raises(ScaffoldError, match="is already the plugin 'fleet'"):
        new_plugin("fleet", tmp_path)
    assert not (tmp_path / "saas-plugin-fleet").exists()
    (existing / "pyproject.toml").write_text('[project]\nname = "saas-plugin-fleet-care"\n')
    with pytest.raises(ScaffoldError, match="is already the plugin 'fleet_care'"):
        new_plugin("fleet_care", tmp_path)


def test_plugin_new_loyalty_in_the_examples_folder_is_refused() -> None:
    """The tutorial's folder already holds the example: the same entry point, distribution and revision id."""
    result = CliRunner().invoke(main, ["plugin", "new", "loyalty", "--dir", str(ROOT / "examples")])
    assert result.exit_code == 2 and "already installed" in result.output
    assert not (ROOT / "examples" / "saas-plugin-loyalty").exists()


# -- the command line ----------------------------------------------------------------------


def test_plugin_new_creates_the_package_and_refuses_bad_names(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["plugin", "new", "fleet", "--dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert (tmp_path / "saas-plugin-fleet" / "tests" / "test_fleet.py").exists()
    # The commands name this environment's interpreter and install the test extra (pytest).
    root = tmp_path / "saas-plugin-fleet"
    assert f"  {sys.executable} -m pip install -e '{root}[test]'\n" in result.output
    assert f"  {Path(sys.executable).with_name('saas')} migrate\n" in result.output
    assert f"  {sys.executable} -m pytest {root}\n" in result.output
    assert "restart the server" in result.output
    again = runner.invoke(main, ["plugin", "new", "fleet", "--dir", str(tmp_path)])
    assert again.exit_code == 2 and "already exists" in again.output
    bad = runner.invoke(main, ["plugin", "new", "Fleet-Care", "--dir", str(tmp_path)])
    assert bad.exit_code == 2 and "invalid plugin name 'Fleet-Care'" in bad.output
    assert not (tmp_path / "saas-plugin-Fleet-Care").exists()


def test_plugin_list_shows_status_and_the_problems_of_broken_plugins(monkeypatch: pytest.MonkeyPatch) -> None:
    host = host_of(
        SamplePlugin("future", api_version="2.0"),
        graphql_plugin("first", queries=(query_field("shared"),)),
        graphql_plugin("second", queries=(query_field("shared"),)),
    )
    monkeypatch.setattr("saas.runtime.load_plugins", lambda: host)
    result = CliRunner().invoke(main, ["plugin", "list"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].split() == ["NAME", "VERSION", "TITLE", "STATUS"]
    rows = {line.split()[0]: line.split()[-1] for line in lines[2:5]}
    assert rows == {"first": "ok", "future": "broken", "second": "broken"}
    assert f"future: written for plugin API 2.0; this host provides {PLUGIN_API_VERSION}" in lines
    assert "second: Query.shared is contributed by both first and second" in lines


def test_plugin_list_shows_the_installed_example_plugin() -> None:
    result = CliRunner().invoke(main, ["plugin", "list"])
    assert result.exit_code == 0, result.output
    assert any(line.split() == ["loyalty", "1.0.0", "Loyalty", "points", "ok"] for line in result.output.splitlines())
