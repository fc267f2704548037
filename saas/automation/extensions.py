"""The actions and condition operators that enabled plugins add to a tenant's automation rules."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from saas.plugin_host.contributions import AutomationAction, AutomationCondition
from saas.plugin_host.host import PluginHost


@dataclass(frozen=True)
class Extensions:
    """By name: the plugin and what it adds, for the plugins of one tenant."""

    actions: dict[str, tuple[str, AutomationAction]] = field(default_factory=dict)
    conditions: dict[str, tuple[str, AutomationCondition]] = field(default_factory=dict)

    def plugin_of(self, name: str) -> str | None:
        """The plugin that owns an action or operator name by its prefix (enabled or not)."""
        prefix, dot, _ = name.partition(".")
        return prefix if dot else None


def extensions_of(plugins: PluginHost, enabled: Iterable[str]) -> Extensions:
    """What the healthy plugins among `enabled` add (each name is prefixed with its plugin's)."""
    found = Extensions()
    for plugin in plugins.enabled(enabled):
        for extension in plugin.automation:
            if isinstance(extension, AutomationAction):
                found.actions[extension.name] = (plugin.name, extension)
            else:
                found.conditions[extension.name] = (plugin.name, extension)
    return found
