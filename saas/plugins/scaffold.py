"""`saas plugin new NAME`: writes a plugin package that installs, migrates and passes its own tests.

The files come from `templates/plugin/` (`package/` becomes `saas_plugin_NAME/`, `test_plugin.py`
becomes `test_NAME.py`, `.tmpl` is dropped) with `${name}`-style placeholders filled in.
"""

from __future__ import annotations

import keyword
import re
from dataclasses import asdict, dataclass
from pathlib import Path
from string import Template

from saas.plugins.version import PLUGIN_API_VERSION
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
    permission: str  # fleet_care:read
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
            permission=f"{name}:read",
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
    """Write the package `saas-plugin-NAME` into `parent`; returns its folder (which must not exist)."""
    check_name(name)
    names = PluginNames.for_plugin(name, core_head())
    root = parent / names.distribution
    if root.exists():
        raise ScaffoldError(f"{root} already exists")
    values = asdict(names)
    for template in sorted(TEMPLATES.rglob("*.tmpl")):
        target = root / _target(template, names)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(Template(template.read_text(encoding="utf-8")).substitute(values), encoding="utf-8")
    return root
