"""The documentation cannot drift from the code.

Every ```graphql block in README.md and docs/api.md must be a valid document for the schema the
code builds, within the server's depth and alias limits. A ```json variables block must fit the
variables of the nearest ```graphql block above it. The schema is the core's with the plugins
shipped in plugins/ (manufacturing, finance). Every operation of it must have an example in docs/api.md,
and README.md must name every setting of saas/config.py.
"""

from __future__ import annotations

import json
import re
import tomllib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pytest
from graphql import DocumentNode, FieldNode, GraphQLSchema, OperationDefinitionNode, parse, specified_rules, validate
from graphql.execution.values import get_variable_values

from saas.config import Settings
from saas.runtime import load_plugins
from saas.schema.builder import build_schema
from saas.schema.limits import limit_rules

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
API_GUIDE = ROOT / "docs" / "api.md"
DOCS_WITH_GRAPHQL = (README, API_GUIDE)

# A fenced block: the info string after ``` (e.g. "graphql", "json variables"), then the body up
# to a line that is only ```.
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)


@dataclass(frozen=True)
class Example:
    """A GraphQL document from the docs, with the variables blocks that follow it."""

    where: str
    source: str
    variables: tuple[tuple[str, str], ...] = ()


def _examples(path: Path) -> list[Example]:
    text = path.read_text(encoding="utf-8")
    examples: list[Example] = []
    for match in FENCE.finditer(text):
        info = match["info"].split()
        where = f"{path.relative_to(ROOT)}:{text.count(chr(10), 0, match.start()) + 1}"
        if info[:1] == ["graphql"]:
            examples.append(Example(where, match["body"]))
        elif info == ["json", "variables"]:
            assert examples, f"{where}: a variables block needs a graphql block above it"
            last = examples[-1]
            examples[-1] = Example(last.where, last.source, (*last.variables, (where, match["body"])))
    return examples


def shipped_plugins() -> list[str]:
    """The plugins shipped with the product (`plugins/*`), by their entry-point names."""
    names = []
    for pyproject in sorted((ROOT / "plugins").glob("*/pyproject.toml")):
        project = tomllib.loads(pyproject.read_text(encoding="utf-8"))["project"]
        names += list(project.get("entry-points", {}).get("saas.plugins", {}))
    return names


@cache
def _schema() -> GraphQLSchema:
    """The core's schema with the shipped plugins: what docs/api.md documents."""
    host = load_plugins()
    plugins = [host.get(name) for name in shipped_plugins()]
    assert all(plugins), f"shipped plugins not installed or broken: {shipped_plugins()}"
    return build_schema([p for p in plugins if p is not None])._schema


def _all_examples() -> list[Example]:
    return [example for path in DOCS_WITH_GRAPHQL for example in _examples(path)]


def _default(field: str) -> int:
    value = Settings.model_fields[field].default
    assert isinstance(value, int)
    return value


def _operations(document: DocumentNode) -> list[OperationDefinitionNode]:
    return [d for d in document.definitions if isinstance(d, OperationDefinitionNode)]


def test_the_docs_have_graphql_examples() -> None:
    for path in DOCS_WITH_GRAPHQL:
        assert _examples(path), f"no ```graphql blocks found in {path.relative_to(ROOT)}"


@pytest.mark.parametrize("example", _all_examples(), ids=lambda e: e.where)
def test_graphql_example_is_valid_against_the_schema(example: Example) -> None:
    document = parse(example.source)
    rules = [*specified_rules, *limit_rules(_default("max_query_depth"), _default("max_aliases"))]
    errors = validate(_schema(), document, rules)
    assert not errors, f"{example.where}: " + "; ".join(e.message for e in errors)
    operations = _operations(document)
    assert operations, f"{example.where}: the document has no operation"
    for where, body in example.variables:
        assert len(operations) == 1, f"{where}: variables need a document with exactly one operation"
        inputs = json.loads(body)
        coerced = get_variable_values(_schema(), operations[0].variable_definitions, inputs)
        assert not isinstance(coerced, list), f"{where}: " + "; ".join(e.message for e in coerced)


def test_every_operation_of_the_schema_has_an_example() -> None:
    schema = _schema()
    documented: set[tuple[str, str]] = set()
    for example in _examples(API_GUIDE):
        for operation in _operations(parse(example.source)):
            root = operation.operation.value
            for selection in operation.selection_set.selections:
                if isinstance(selection, FieldNode):
                    documented.add((root, selection.name.value))
    roots = {"query": schema.query_type, "mutation": schema.mutation_type, "subscription": schema.subscription_type}
    missing = sorted(
        f"{root} {name}"
        for root, type_ in roots.items()
        if type_ is not None
        for name in type_.fields
        if (root, name) not in documented
    )
    assert not missing, f"operations without an example in docs/api.md: {', '.join(missing)}"


def test_readme_names_every_setting() -> None:
    readme = README.read_text(encoding="utf-8")
    aliases = [field.alias or name.upper() for name, field in Settings.model_fields.items()]
    missing = [alias for alias in aliases if f"`{alias}`" not in readme]
    assert not missing, f"settings missing from the README's configuration table: {', '.join(missing)}"


def test_readme_says_how_to_reach_the_saas_command_after_scripts_serve() -> None:
    """scripts/serve installs `saas` into .venv, on its own PATH only."""
    readme = README.read_text(encoding="utf-8")
    assert ". .venv/bin/activate" in readme and "`.venv/bin/saas`" in readme


def _table_after(text: str, heading: str) -> list[list[str]]:
    """The cells of the first Markdown table after the line `heading` (header and rule left out)."""
    lines = text[text.index(heading) :].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def test_the_permission_table_is_the_codes() -> None:
    from saas.auth.permissions import ROLE_PERMISSIONS, Role

    rows = _table_after(API_GUIDE.read_text(encoding="utf-8"), "Permissions per role")
    documented: dict[str, set[Role]] = {}
    for first, *marks in rows:
        roles = {role for role, mark in zip(Role, marks, strict=True) if mark == "✓"}
        for permission in re.findall(r"`([^`]+)`", first):
            documented[permission] = roles
    in_code = {
        permission: {role for role, granted in ROLE_PERMISSIONS.items() if permission in granted}
        for permission in ROLE_PERMISSIONS[Role.OWNER]
    }
    assert documented == in_code
