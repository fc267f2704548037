"""Discovers plugins through the `saas.plugins` entry points, checks them, records contributions.

Each plugin object is registered once in the process's pluggy `PluginManager`, and every hook
is called through pluggy, never by looking up a plugin's functions:

- `host.hook.<name>(...)` reaches every healthy plugin (pluggy's own relay);
- `host.hook_for(names).<name>(...)` reaches only the healthy plugins among `names`, e.g. the
  ones a tenant enabled (`PluginManager.subset_hook_caller` with the others removed);
- at start the host reads each plugin's contributions through `hook_for([that plugin])`, so
  that what it records is attributed to its plugin and one plugin's failure is its own.

A plugin that cannot load (import error, bad metadata, duplicate name, missing requirement,
API version mismatch, a contribution that raises) is unregistered and listed as broken with its
problems; the others load. Hooks therefore never reach a broken plugin. After start the set
of registered plugins does not change.
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
from saas.plugin_host.contributions import (
    AutomationAction,
    AutomationCondition,
    GraphQLContribution,
    PeriodicJob,
    PermissionSpec,
    PluginMeta,
)
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
    automation: list[AutomationAction | AutomationCondition] = field(default_factory=list)

    @property
    def broken(self) -> bool:
        return bool(self.problems)


class PluginHooks:
    """Hook callers that reach only some registered plugins: `hooks.saas_handle_event(...)`.

    Each attribute is `PluginManager.subset_hook_caller(name, remove_plugins=<the others>)`; the
    others are the plugins registered when the object was made (use it at once, not kept)."""

    def __init__(self, manager: pluggy.PluginManager, keep: Iterable[object]) -> None:
        kept = {id(plugin) for plugin in keep}
        self._manager = manager
        self._removed = [p for _, p in manager.list_name_plugin() if p is not None and id(p) not in kept]

    def __getattr__(self, name: str) -> pluggy.HookCaller:
        if not name.startswith(f"{hookspecs.PROJECT}_"):
            raise AttributeError(name)
        return self._manager.subset_hook_caller(name, remove_plugins=self._removed)


class PluginHost:
    def __init__(self) -> None:
        self.manager = pluggy.PluginManager(hookspecs.PROJECT)
        self.manager.add_hookspecs(hookspecs)
        self.plugins: dict[str, LoadedPlugin] = {}
        # `healthy_names`, kept until a plugin is added, left out or removed (every request reads it).
        self._healthy_names: frozenset[str] | None = None

    @property
    def hook(self) -> pluggy.HookRelay:
        """Every healthy plugin's hooks (pluggy's relay): `host.hook.saas_jobs()`."""
        return self.manager.hook

    def hook_for(self, names: Iterable[str]) -> PluginHooks:
        """The hooks of the healthy plugins among `names` only (e.g. the ones a tenant enabled)."""
        return PluginHooks(self.manager, [plugin.module for plugin in self.enabled(names)])

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
                self._healthy_names = None
                continue
            self.add(module, entry_point.name)
        self.check_requirements()

    def add(self, module: ModuleType | object, fallback_name: str) -> LoadedPlugin:
        """Register one plugin object (once), then read and check what it contributes."""
        plugin = LoadedPlugin(fallback_name, module)
        try:
            self.manager.register(module, name=self._free_name(fallback_name))
        except Exception as exc:  # hooks that do not match their specification, or registered twice
            plugin.problems.append(f"hook validation failed: {exc}")
            self.plugins.setdefault(fallback_name, plugin)
            self._healthy_names = None
            return plugin
        own = PluginHooks(self.manager, [module])
        try:
            plugin.meta = _one(own.saas_plugin_meta())
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
            self._read_contributions(plugin, own)
        if plugin.problems:
            self._unregister(plugin)
        key = plugin.name if plugin.name not in self.plugins else f"{plugin.name}#{len(self.plugins)}"
        self.plugins[key] = plugin
        self._healthy_names = None
        return plugin

    def _free_name(self, name: str) -> str:
        """`name`, or `name#2`, … when another entry point already registered under it."""
        candidate, number = name, 1
        while self.manager.has_plugin(candidate):
            number += 1
            candidate = f"{name}#{number}"
        return candidate

    def _read_contributions(self, plugin: LoadedPlugin, own: PluginHooks) -> None:
        try:
            plugin.graphql = _one(own.saas_graphql()) or GraphQLContribution()
            plugin.permissions = list(_one(own.saas_permissions()) or [])
            plugin.jobs = list(_one(own.saas_jobs()) or [])
            plugin.periodic_jobs = list(_one(own.saas_periodic_jobs()) or [])
            plugin.migrations_dir = _one(own.saas_migrations_dir())
            plugin.settings_model = _one(own.saas_settings_model())
            plugin.event_types = list(_one(own.saas_event_types()) or [])
            plugin.automation = list(_one(own.saas_automation()) or [])
        except Exception as exc:
            log.exception("plugin %s failed to load its contributions", plugin.name)
            plugin.problems.append(f"contributions failed to load: {exc!r}")
            return
        try:
            register_event_types(*plugin.event_types, plugin=plugin.name)
        except ValueError as exc:  # the type is the core's or another plugin's, or not a type name
            plugin.problems.append(str(exc))
        for extension in plugin.automation:
            if not isinstance(extension, AutomationAction | AutomationCondition):
                plugin.problems.append("saas_automation must return AutomationAction and AutomationCondition objects")
            elif not extension.name.startswith(f"{plugin.name}.") or len(extension.name) > 100:
                plugin.problems.append(f"automation extension {extension.name!r} must be named {plugin.name}.<name>")

    def _unregister(self, plugin: LoadedPlugin) -> None:
        self._healthy_names = None
        if plugin.module is not None and self.manager.is_registered(plugin.module):
            self.manager.unregister(plugin.module)

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
                    self._unregister(plugin)
                    changed = True

    def mark_broken(self, name: str, problem: str) -> None:
        """Leave a loaded plugin out after all (e.g. its schema contribution conflicts)."""
        plugin = self.plugins[name]
        plugin.problems.append(problem)
        self._unregister(plugin)
        self.check_requirements()

    def remove(self, name: str) -> None:
        """Forget a plugin (tests that add one for a while)."""
        plugin = self.plugins.pop(name, None)
        self._healthy_names = None
        if plugin is not None:
            self._unregister(plugin)

    # -- queries ---------------------------------------------------------------------------

    def healthy(self) -> list[LoadedPlugin]:
        return [p for p in self.plugins.values() if not p.broken]

    def healthy_names(self) -> frozenset[str]:
        names = self._healthy_names
        if names is None:
            names = self._healthy_names = frozenset(p.name for p in self.healthy())
        return names

    def get(self, name: str) -> LoadedPlugin | None:
        plugin = self.plugins.get(name)
        return plugin if plugin is not None and not plugin.broken else None

    def enabled(self, names: Iterable[str]) -> list[LoadedPlugin]:
        """The healthy plugins among `names`, in a stable order."""
        wanted = set(names)
        return sorted((p for p in self.healthy() if p.name in wanted), key=lambda p: p.name)


def _one(results: list[Any]) -> Any:
    """The answer of a one-plugin hook call (pluggy leaves out None answers): the value, or None."""
    return results[0] if results else None
