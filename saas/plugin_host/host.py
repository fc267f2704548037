"""Discovers plugins through the `saas.plugins` entry points, checks them, records contributions.

A plugin that cannot load (import error, bad metadata, duplicate name, missing requirement,
API version mismatch) is kept out and listed as broken with its problems; the others load.
Per tenant, hooks are called only for the enabled plugins (`subset_hook_caller`): the plugin
manager is process-wide and never changes after start.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy

from saas.events.catalog import register_event_types
from saas.plugin_host import hookspecs
from saas.plugin_host.contributions import GraphQLContribution, PeriodicJob, PermissionSpec, PluginMeta
from saas.plugin_host.version import PLUGIN_API_VERSION, compatible

ENTRY_POINT_GROUP = "saas.plugins"
log = logging.getLogger(__name__)


@dataclass
class LoadedPlugin:
    """One installed plugin: its metadata (None if unreadable), problems, and contributions."""

    name: str
    module: Any
    meta: PluginMeta | None = None
    problems: list[str] = field(default_factory=list)
    graphql: GraphQLContribution = field(default_factory=GraphQLContribution)
    permissions: list[PermissionSpec] = field(default_factory=list)
    jobs: list[Any] = field(default_factory=list)
    periodic_jobs: list[PeriodicJob] = field(default_factory=list)
    migrations_dir: Path | None = None
    settings_model: type | None = None
    event_types: list[str] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        return bool(self.problems)


class PluginHost:
    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}

    # -- loading ---------------------------------------------------------------------------

    def load_entry_points(self) -> None:
        for entry_point in entry_points(group=ENTRY_POINT_GROUP):
            try:
                module = entry_point.load()
            except Exception as exc:  # a broken plugin must not take the server down
                log.exception("plugin %s failed to import", entry_point.name)
                self.plugins[entry_point.name] = LoadedPlugin(
                    entry_point.name, None, problems=[f"import failed: {exc!r}"]
                )
                continue
            self.add(module, entry_point.name)
        self.check_requirements()

    def add(self, module: ModuleType | object, fallback_name: str) -> LoadedPlugin:
        """Register one plugin object; read and check what it contributes."""
        plugin = LoadedPlugin(fallback_name, module)
        try:
            self.manager.register(module, name=f"candidate:{fallback_name}")
        except Exception as exc:
            plugin.problems.append(f"hook validation failed: {exc}")
            self.plugins.setdefault(fallback_name, plugin)
            return plugin
        try:
            plugin.meta = self._call(module, "saas_plugin_meta")
            if not isinstance(plugin.meta, PluginMeta):
                raise TypeError("saas_plugin_meta must return a PluginMeta")
        except Exception as exc:
            plugin.problems.append(f"metadata unreadable: {exc}")
        else:
            plugin.name = plugin.meta.name
            if not compatible(plugin.meta.api_version):
                plugin.problems.append(
                    f"written for plugin API {plugin.meta.api_version}; this host provides {PLUGIN_API_VERSION}"
                )
            if plugin.name in self.plugins:
                plugin.problems.append(f"duplicate plugin name {plugin.name!r}")
                self.mark_broken(plugin.name, f"duplicate plugin name {plugin.name!r}")
        if not plugin.problems:
            self._read_contributions(plugin)
        self.manager.unregister(module)
        if not plugin.problems:
            self.manager.register(module, name=plugin.name)
        key = plugin.name if plugin.name not in self.plugins else f"{plugin.name}#{len(self.plugins)}"
        self.plugins[key] = plugin
        return plugin

    def _call(self, module: object, hook: str) -> Any:
        function = getattr(module, hook, None)
        return function() if function is not None else None

    def _read_contributions(self, plugin: LoadedPlugin) -> None:
        try:
            plugin.graphql = self._call(plugin.module, "saas_graphql") or GraphQLContribution()
            plugin.permissions = list(self._call(plugin.module, "saas_permissions") or [])
            plugin.jobs = list(self._call(plugin.module, "saas_jobs") or [])
            plugin.periodic_jobs = list(self._call(plugin.module, "saas_periodic_jobs") or [])
            plugin.migrations_dir = self._call(plugin.module, "saas_migrations_dir")
            plugin.settings_model = self._call(plugin.module, "saas_settings_model")
            plugin.event_types = list(self._call(plugin.module, "saas_event_types") or [])
            self._call(plugin.module, "saas_models")
        except Exception as exc:
            log.exception("plugin %s failed to load its contributions", plugin.name)
            plugin.problems.append(f"contributions failed to load: {exc!r}")
            return
        try:
            register_event_types(*plugin.event_types, plugin=plugin.name)
        except ValueError as exc:  # the type is the core's or another plugin's, or not a type name
            plugin.problems.append(str(exc))

    def check_requirements(self) -> None:
        """Leave out plugins whose required plugins are missing or broken (repeat until stable)."""
        changed = True
        while changed:
            changed = False
            for plugin in self.plugins.values():
                if plugin.broken or plugin.meta is None:
                    continue
                missing = [r for r in plugin.meta.requires if r not in self.healthy_names()]
                if missing:
                    plugin.problems.append(f"requires missing or broken plugins: {', '.join(missing)}")
                    self.manager.unregister(name=plugin.name)
                    changed = True

    def mark_broken(self, name: str, problem: str) -> None:
        """Leave a loaded plugin out after all (e.g. its schema contribution conflicts)."""
        plugin = self.plugins[name]
        plugin.problems.append(problem)
        if self.manager.get_plugin(name) is not None:
            self.manager.unregister(name=name)
        self.check_requirements()

    # -- queries ---------------------------------------------------------------------------

    def healthy(self) -> list[LoadedPlugin]:
        return [p for p in self.plugins.values() if not p.broken]

    def healthy_names(self) -> frozenset[str]:
        return frozenset(p.name for p in self.healthy())

    def get(self, name: str) -> LoadedPlugin | None:
        plugin = self.plugins.get(name)
        return plugin if plugin is not None and not plugin.broken else None

    def enabled(self, names: Iterable[str]) -> list[LoadedPlugin]:
        """The healthy plugins among `names`, in a stable order."""
        wanted = set(names)
        return sorted((p for p in self.healthy() if p.name in wanted), key=lambda p: p.name)

    def hook_for(self, enabled: Iterable[str], hook: str) -> Any:
        """A hook caller that reaches only the given plugins."""
        keep = {p.name for p in self.enabled(enabled)}
        others = [plugin for name, plugin in self.manager.list_name_plugin() if name not in keep]
        return self.manager.subset_hook_caller(hook, remove_plugins=others)
