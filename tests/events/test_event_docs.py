"""The event catalog cannot drift from docs/api.md.

Every event type of the core and of the plugins shipped in plugins/ has a `#### \\`type\\``
heading in the "Events" section of docs/api.md, followed by an example payload (a ```json
block) in the API's shape: camelCase keys and no raw UUIDs. The section documents no type that
does not exist.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from saas.events import catalog
from saas.runtime import load_plugins

ROOT = Path(__file__).resolve().parents[2]
API_GUIDE = ROOT / "docs" / "api.md"
HEADING = re.compile(r"^#### `([a-z0-9_.]+)`\n(?P<body>.*?)(?=^#{2,4} |\Z)", re.MULTILINE | re.DOTALL)
JSON_BLOCK = re.compile(r"^```json\n(?P<body>.*?)^```", re.MULTILINE | re.DOTALL)
RAW_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")


@cache
def _shipped_types() -> tuple[str, ...]:
    """The core's types and those of the plugins in plugins/ (not the example's, not test plugins')."""
    host = load_plugins()
    shipped = {
        plugin.name
        for plugin in host.healthy()
        if Path(plugin.module.__file__).resolve().is_relative_to(ROOT / "plugins")
    }
    return tuple(name for name in catalog.event_types() if catalog.owner_of(name) in (None, *shipped))


def _section() -> str:
    text = API_GUIDE.read_text(encoding="utf-8")
    start = text.index("\n## Events\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


@cache
def _documented() -> dict[str, str]:
    return {match[1]: match["body"] for match in HEADING.finditer(_section())}


def _keys(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [*value, *(k for v in value.values() for k in _keys(v))]
    if isinstance(value, list):
        return [k for v in value for k in _keys(v)]
    return []


def test_the_manufacturing_plugin_is_among_the_shipped() -> None:
    assert "mfg.order.placed" in _shipped_types() and "customer.created" in _shipped_types()


@pytest.mark.parametrize("event_type", _shipped_types())
def test_every_event_type_is_documented_with_an_example(event_type: str) -> None:
    assert event_type in _documented(), f"docs/api.md: add '#### `{event_type}`' to the Events section"
    block = JSON_BLOCK.search(_documented()[event_type])
    assert block, f"docs/api.md: {event_type} needs an example payload (a ```json block)"
    example = json.loads(block["body"].replace("…", ""))
    assert example, event_type
    assert all("_" not in key for key in _keys(example) if key != "__typename"), f"{event_type}: camelCase keys"
    assert not RAW_UUID.search(block["body"]), f"{event_type}: ids are global ids, never raw UUIDs"


def test_the_section_documents_no_type_that_does_not_exist() -> None:
    assert sorted(set(_documented()) - set(_shipped_types())) == []
