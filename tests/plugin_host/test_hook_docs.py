"""The plugin contract cannot drift from its documentation and its tests.

Fails when a hook in saas/plugin_host/hookspecs.py has no section (with an example) in
docs/plugins.md, when no plugin exercised by the tests implements it (the example plugin, the
shipped manufacturing plugin and the test-only plugins), when docs/plugins.md documents a hook that does not exist, or when a
name `saas.plugin_api` exports, or a fixture or name of the test kit, is not documented. The guide's code samples must parse,
and its GraphQL must be valid for a schema with the example plugin.
"""

from __future__ import annotations

import inspect
import re
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest
from graphql import GraphQLSchema, parse, validate

import saas.plugin_api
from saas.plugin_api import testing
from saas.plugin_host import hookspecs
from saas.runtime import load_plugins
from saas.schema.builder import build_schema
from tests.plugin_host import samples, test_host

ROOT = Path(__file__).resolve().parents[2]
GUIDE = ROOT / "docs" / "plugins.md"
FENCE = re.compile(r"^```(?P<info>[^\n`]*)\n(?P<body>.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HOOK_HEADING = re.compile(r"^### `(saas_\w+)`$", re.MULTILINE)


def _hooks() -> list[str]:
    return sorted(name for name, f in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(f, "saas_spec"))


def _text() -> str:
    return GUIDE.read_text(encoding="utf-8")


def _section(heading: str) -> str:
    """The text under a `## heading`, up to the next `## `."""
    text = _text()
    start = text.index(f"## {heading}")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def _hook_sections() -> dict[str, str]:
    reference = _section("Hook reference")
    matches = list(HOOK_HEADING.finditer(reference))
    ends = [m.start() for m in matches[1:]] + [len(reference)]
    return {m[1]: reference[m.end() : end] for m, end in zip(matches, ends, strict=True)}


@cache
def _example_plugin() -> ModuleType:
    plugin = load_plugins().get("loyalty")
    assert plugin is not None, "examples/loyalty is not installed: run scripts/test, or pip install -e examples/loyalty"
    module: ModuleType = plugin.module
    return module


@cache
def _shipped_plugin() -> ModuleType:
    """The manufacturing plugin (plugins/manufacturing), whose tests run with the suite."""
    plugin = load_plugins().get("manufacturing")
    assert plugin is not None, "plugins/manufacturing is not installed: run scripts/test"
    module: ModuleType = plugin.module
    return module


def _exercised_plugins() -> list[object]:
    """The example plugin, the shipped plugin, and every test-only plugin the host tests build."""
    test_only: list[object] = [samples.IMPORTABLE]
    for n in range(test_host.SAMPLES):
        test_only.append(test_host._numbered(n))
    for kind in ("query", "mutation", "customer_field", "type"):
        test_only.extend(test_host._conflict_case(kind)[:2])
    return [_example_plugin(), _shipped_plugin(), *test_only]


def test_the_hookspecs_module_has_hooks() -> None:
    assert "saas_plugin_meta" in _hooks() and len(_hooks()) >= 10


@pytest.mark.parametrize("hook", _hooks())
def test_every_hook_has_a_documented_section_with_an_example(hook: str) -> None:
    sections = _hook_sections()
    assert hook in sections, f"docs/plugins.md: add a section '### `{hook}`' under '## Hook reference'"
    section = sections[hook]
    for part in ("**Called**", "**Arguments:**", "**Returns**"):
        assert part in section, f"the section of {hook} does not say {part}"
    examples = [m["body"] for m in FENCE.finditer(section) if m["info"].strip() == "python"]
    assert any("@hookimpl" in e and f"def {hook}(" in e for e in examples), f"{hook} has no example implementing it"


def test_the_guide_documents_no_hook_that_does_not_exist() -> None:
    assert sorted(_hook_sections()) == _hooks()


@pytest.mark.parametrize("hook", _hooks())
def test_every_hook_is_implemented_by_a_plugin_the_tests_exercise(hook: str) -> None:
    implementers = [p for p in _exercised_plugins() if hasattr(getattr(p, hook, None), "saas_impl")]
    assert implementers, f"no plugin exercised by the tests implements {hook}: add it to examples/loyalty"


@pytest.mark.parametrize("name", saas.plugin_api.__all__)
def test_every_exported_name_is_in_the_api_reference(name: str) -> None:
    assert f"| `{name}` |" in _section("API reference"), (
        f"docs/plugins.md: add `{name}` (exported by saas.plugin_api) to the API reference"
    )


def test_the_api_reference_names_only_exported_names() -> None:
    documented = re.findall(r"^\| `(\w+)` \|", _section("API reference"), re.MULTILINE)
    assert sorted(documented) == sorted(saas.plugin_api.__all__)


@pytest.mark.parametrize("fixture", sorted(n for n in vars(testing) if n.startswith("saas_")))
def test_every_fixture_of_the_test_kit_is_documented(fixture: str) -> None:
    assert f"| `{fixture}` |" in _section("The test kit"), f"docs/plugins.md: add the fixture `{fixture}`"


@pytest.mark.parametrize("name", testing.__all__)
def test_every_name_the_test_kit_exports_is_documented(name: str) -> None:
    assert f"`{name}" in _section("The test kit"), f"docs/plugins.md: document `{name}` in the test kit section"


def test_the_python_samples_parse() -> None:
    blocks = [m for m in FENCE.finditer(_text()) if m["info"].strip() == "python"]
    assert len(blocks) >= len(_hooks())
    for match in blocks:
        line = _text().count("\n", 0, match.start()) + 1
        compile(match["body"], f"docs/plugins.md:{line}", "exec")


@cache
def _schema_with_example() -> GraphQLSchema:
    host = load_plugins()
    return build_schema(host.enabled(["loyalty"]))._schema


def test_the_graphql_samples_are_valid_with_the_example_plugin() -> None:
    blocks = [m for m in FENCE.finditer(_text()) if m["info"].strip() == "graphql"]
    assert blocks
    for match in blocks:
        line = _text().count("\n", 0, match.start()) + 1
        errors = validate(_schema_with_example(), parse(match["body"]))
        assert not errors, f"docs/plugins.md:{line}: {errors}"
