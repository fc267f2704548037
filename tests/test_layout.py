"""One shape for every domain (docs/architecture.md, "Adding a domain"): core, first-party and example plugins.

A domain is a core folder with a `graphql/` subfolder (`saas/customers`), the package of an
industry plugin (`plugins/*/src/<package>`) or of an example plugin (`examples/*/<package>`).
Its `graphql/` holds only the modules of the layout, one of them `contribution.py` with the
`GraphQLContribution` the schema builder (core) or the plugin host (plugins) composes; a plugin
also has `models.py`, a service (`service.py` or a `service/` package) and `rules.py`. No domain
declares its own Edge, Connection or Page class (the kit's generics; tests/schema/test_connections.py).

`layout_problems(folder)` is the check itself: the scaffold's test runs it on a generated plugin.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from tests.schema.test_connections import _own_paging_classes

ROOT = Path(__file__).resolve().parents[1]
GRAPHQL_MODULES = frozenset(
    {"__init__", "contribution", "types", "queries", "mutations", "subscriptions", "sql", "loaders"}
)
CORE_DOMAINS = {"accounts", "customers", "jobs", "notifications", "plugin_host", "products", "webhooks"}


def core_domains() -> list[Path]:
    return sorted(p.parent for p in (ROOT / "saas").glob("*/graphql") if p.is_dir())


def plugin_packages() -> list[Path]:
    """The packages of the first-party and example plugins (a folder with `__init__.py` and `graphql/`)."""
    candidates = [*ROOT.glob("plugins/*/src/*"), *ROOT.glob("examples/*/*")]
    return sorted(p for p in candidates if (p / "__init__.py").is_file() and (p / "graphql").is_dir())


def _defines(path: Path, name: str) -> bool:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in tree.body:
        targets = (
            node.targets if isinstance(node, ast.Assign) else [node.target] if isinstance(node, ast.AnnAssign) else []
        )
        if any(isinstance(target, ast.Name) and target.id == name for target in targets):
            return True
    return False


def layout_problems(domain: Path, *, plugin: bool) -> list[str]:
    """What in `domain` departs from the layout; empty when it follows it."""
    problems = []
    graphql = domain / "graphql"
    for entry in sorted(graphql.iterdir()):
        if entry.name == "__pycache__":
            continue
        if entry.is_dir():
            problems.append(f"graphql/{entry.name}/: no subpackages in graphql/")
        elif entry.suffix == ".py" and entry.stem not in GRAPHQL_MODULES:
            problems.append(f"graphql/{entry.name}: not a module of the layout ({', '.join(sorted(GRAPHQL_MODULES))})")
    contribution = graphql / "contribution.py"
    if not contribution.is_file():
        problems.append("graphql/contribution.py is missing")
    elif not _defines(contribution, "contribution"):
        problems.append("graphql/contribution.py defines no module-level `contribution`")
    if plugin:
        for required in ("models.py", "rules.py"):
            if not (domain / required).is_file():
                problems.append(f"{required} is missing")
        if not (domain / "service.py").is_file() and not (domain / "service" / "__init__.py").is_file():
            problems.append("service.py (or a service/ package) is missing")
    for path in sorted(domain.rglob("*.py")):
        problems.extend(_own_paging_classes(path, domain.parent))
    return problems


def test_the_domains_are_found() -> None:
    assert {p.name for p in core_domains()} >= CORE_DOMAINS
    assert {p.name for p in plugin_packages()} >= {"saas_manufacturing", "saas_plugin_loyalty"}


@pytest.mark.parametrize("domain", core_domains(), ids=lambda p: f"saas/{p.name}")
def test_every_core_domain_follows_the_layout(domain: Path) -> None:
    assert layout_problems(domain, plugin=False) == []


@pytest.mark.parametrize("package", plugin_packages(), ids=lambda p: p.name)
def test_every_plugin_follows_the_layout(package: Path) -> None:
    assert layout_problems(package, plugin=True) == []


def test_the_check_finds_what_departs_from_the_layout(tmp_path: Path) -> None:
    """A domain with a resolvers module, no contribution, its own connection class and no rules."""
    domain = tmp_path / "saas_plugin_bad"
    (domain / "graphql" / "nested").mkdir(parents=True)
    (domain / "__init__.py").write_text("")
    (domain / "models.py").write_text("")
    (domain / "service.py").write_text("")
    (domain / "graphql" / "resolvers.py").write_text("class ThingConnection:\n    pass\n")
    assert layout_problems(domain, plugin=True) == [
        "graphql/nested/: no subpackages in graphql/",
        "graphql/resolvers.py: not a module of the layout "
        "(__init__, contribution, loaders, mutations, queries, sql, subscriptions, types)",
        "graphql/contribution.py is missing",
        "rules.py is missing",
        "saas_plugin_bad/graphql/resolvers.py:1 ThingConnection",
    ]
    (domain / "graphql" / "contribution.py").write_text("CONTRIBUTION = None\n")
    assert "graphql/contribution.py defines no module-level `contribution`" in layout_problems(domain, plugin=True)
