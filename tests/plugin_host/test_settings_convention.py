"""Plugin settings are GraphQL-facing JSON: every installed plugin names them in camelCase."""

from __future__ import annotations

import re
from typing import Any

import pytest

from saas.plugin_host.enablement import _validated_settings
from saas.plugin_host.host import LoadedPlugin
from saas.runtime import load_plugins

CAMEL_CASE = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def _with_settings() -> list[LoadedPlugin]:
    return sorted((p for p in load_plugins().healthy() if p.settings_model is not None), key=lambda p: p.name)


def test_the_shipped_and_example_plugins_have_settings() -> None:
    assert {"loyalty", "manufacturing"} <= {p.name for p in _with_settings()}


@pytest.mark.parametrize("plugin", _with_settings(), ids=lambda p: p.name)
def test_every_setting_is_named_in_camel_case(plugin: LoadedPlugin) -> None:
    model: Any = plugin.settings_model
    names = list(model.model_json_schema(mode="validation")["properties"])
    assert names and all(CAMEL_CASE.match(name) for name in names), names
    # What enablePlugin stores and the plugins query shows: the same names.
    stored = _validated_settings(plugin, {})
    assert sorted(stored) == sorted(names)
    # And what a tenant admin sends, in those names, is what is stored.
    assert _validated_settings(plugin, stored) == stored
