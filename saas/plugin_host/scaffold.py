"""`saas plugin new NAME`: writes a plugin package that installs, migrates and passes its own tests.

The package has the layout of every domain (docs/architecture.md, "Adding a domain"; checked by
tests/test_layout.py): `models.py`, `service.py`, `rules.py`, `graphql/{contribution, types,
queries, mutations, sql, loaders}.py`, `migrations/` and `tests/`, with one working example, an
item type, written with the kit: a connection, a mutation payload through `write_mutation`, a
request loader, a compiled read and `node(id)`.

The files come from `templates/plugin/` (`package/` becomes `saas_plugin_NAME/`, `test_plugin.py`
becomes `test_NAME.py`, `.tmpl` is dropped) with `${name}`-style placeholders filled in.

A name that is already a plugin (installed, or a package in the target folder) is refused: the
new package would share its entry point, distribution and revision ids (`NAME_0001`), and
`saas migrate` could not tell the two apart.
"""

from __future__ import annotations

import importlib.util
import keyword
import re
import tomllib
from dataclasses import asdict, dataclass
from importlib.metadata import PackageNotFoundError, distribution, entry_points
from pathlib import Path
from string import Template

from saas.plugin_host.host import ENTRY_POINT_GROUP
from saas.plugin_host.version import PLUGIN_API_VERSION
from saas.validation import camel_case

TEMPLATES = Path(__file__).resolve().parent / "templates" / "plugin"
# A Python identifier that also makes table, index and constraint names within PostgreSQL's 63 bytes.
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,29}$")
RESERVED_NAMES = frozenset({"core", "saas", "plugin", "plugins", "test", "tests"})


class ScaffoldError(ValueError):
    """The plugin cannot be generated (bad name, target exists); nothing was written."""


@dataclass(frozen=True)
class PluginNames:
    """Every name the templates use, derived from the plugin's name (e.g. `fleet_care`)."""

    name: str  # fleet_care: the entry point, the Alembic branch, the table prefix
    package: str  # saas_plugin_fleet_care
    distribution: str  # saas-plugin-fleet-care
    title: str  # Fleet Care
    prefix: str  # FleetCare: the prefix of GraphQL type names
    table: str  # fleet_care_items
    query_field: str  # fleet_care_items (Python)
    query: str  # fleetCareItems (GraphQL)
    item_field: str  # fleet_care_item (Python): one item by id
    item_query: str  # fleetCareItem (GraphQL)
    mutation_field: str  # create_fleet_care_item (Python)
    mutation: str  # createFleetCareItem (GraphQL)
    permission: str  # fleet_care:read
    write_permission: str  # fleet_care:write
    event: str  # fleet_care.item_created: the domain event of a new item
    loader: str  # fleet_care.items: the request loader's name
    core_head: str  # the core's newest migration, which the plugin's first one depends on
    api_version: str

    @classmethod
    def for_plugin(cls, name: str, core_head: str) -> PluginNames:
        check_name(name)
        words = name.split("_")
        return cls(
            name=name,
            package=f"saas_plugin_{name}",
            distribution=f"saas-plugin-{name.replace('_', '-')}",
            title=" ".join(w.capitalize() for w in words if w),
            prefix="".join(w.capitalize() for w in words),
            table=f"{name}_items",
            query_field=f"{name}_items",
            query=camel_case(f"{name}_items"),
            item_field=f"{name}_item",
            item_query=camel_case(f"{name}_item"),
            mutation_field=f"create_{name}_item",
            mutation=camel_case(f"create_{name}_item"),
            permission=f"{name}:read",
            write_permission=f"{name}:write",
            event=f"{name}.item_created",
            loader=f"{name}.items",
            core_head=core_head,
            api_version=PLUGIN_API_VERSION,
        )


def check_name(name: str) -> None:
    if not NAME_PATTERN.match(name) or "__" in name or name.endswith("_"):
        raise ScaffoldError(
            f"invalid plugin name {name!r}: use 1-30 lowercase letters, digits and single underscores, "
            "starting with a letter (e.g. fleet_care)"
        )
    if keyword.iskeyword(name) or name in RESERVED_NAMES:
        raise ScaffoldError(f"invalid plugin name {name!r}: the name is reserved")


def check_available(names: PluginNames, parent: Path) -> None:
    """Refuse a name that is already a plugin: an installed entry point, distribution or package,
    or a package in `parent` declaring the same entry point or distribution."""
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name == names.name:
            raise ScaffoldError(
                f"a plugin named {names.name!r} is already installed ({entry_point.value}); choose another name"
            )
    try:
        distribution(names.distribution)
    except PackageNotFoundError:
        pass
    else:
        raise ScaffoldError(f"the distribution {names.distribution} is already installed; choose another name")
    if importlib.util.find_spec(names.package) is not None:
        raise ScaffoldError(f"a package named {names.package} is already importable; choose another name")
    for pyproject in sorted(parent.glob("*/pyproject.toml")):
        try:
            project = tomllib.loads(pyproject.read_text(encoding="utf-8")).get("project", {})
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue
        plugins = project.get("entry-points", {}).get(ENTRY_POINT_GROUP, {})
        if names.name in plugins or project.get("name") == names.distribution:
            raise ScaffoldError(f"{pyproject.parent} is already the plugin {names.name!r}; choose another name")


def core_head() -> str:
    """The core's newest Alembic revision."""
    from alembic.script import ScriptDirectory

    from saas.db.migrate import alembic_config

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise ScaffoldError("the core has no migrations")
    return head


def _target(template: Path, names: PluginNames) -> Path:
    relative = template.relative_to(TEMPLATES)
    parts = [names.package if part == "package" else part for part in relative.parts]
    parts[-1] = parts[-1].removesuffix(".tmpl").replace("test_plugin", f"test_{names.name}")
    return Path(*parts)


def new_plugin(name: str, parent: Path) -> Path:
    """Write the package `saas-plugin-NAME` into `parent`; returns its folder (which must not exist).

    Refused, with nothing written, for a bad name, an existing folder, or a name that is already
    a plugin (`check_available`).
    """
    check_name(name)
    names = PluginNames.for_plugin(name, core_head())
    root = parent / names.distribution
    if root.exists():
        raise ScaffoldError(f"{root} already exists")
    check_available(names, parent)
    values = asdict(names)
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        target = root / _target(template, names)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(template.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
    return root
