"""Our plugins are partners: they import from `saas` only through the public plugin API."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PLUGIN_SOURCES = [
    ROOT / "plugins" / "manufacturing" / "src",
    ROOT / "plugins" / "automotive" / "src",
    ROOT / "plugins" / "finance" / "src",
    ROOT / "plugins" / "insurance" / "src",
    ROOT / "examples" / "loyalty" / "saas_plugin_loyalty",
]
ALLOWED = ("saas.plugin_api",)


def _imports(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.append(node.module)
        elif isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
    return names


@pytest.mark.parametrize("source", PLUGIN_SOURCES, ids=lambda p: p.parent.name)
def test_plugins_import_only_the_plugin_api_from_the_host(source: Path) -> None:
    files = sorted(source.rglob("*.py"))
    assert files
    offending = [
        f"{path.relative_to(ROOT)}: {name}"
        for path in files
        for name in _imports(path)
        if (name == "saas" or name.startswith("saas.")) and not name.startswith(ALLOWED)
    ]
    assert not offending, offending
