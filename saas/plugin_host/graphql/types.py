"""The GraphQL type of an installed plugin."""

from __future__ import annotations

from typing import cast

import strawberry
from strawberry.scalars import JSON

from saas.plugin_host import enablement


@strawberry.type(description="An installed plugin and its state for the caller's tenant.")
class Plugin:
    name: str
    title: str | None
    version: str | None
    description: str | None
    requires: list[str]
    enabled: bool
    settings: JSON
    problems: list[str] = strawberry.field(description="Why the plugin is broken; empty when it loads.")

    @classmethod
    def from_status(cls, status: enablement.PluginStatus) -> Plugin:
        meta = status.plugin.meta
        return cls(
            name=status.plugin.name,
            title=meta.title if meta else None,
            version=meta.version if meta else None,
            description=meta.description if meta else None,
            requires=list(meta.requires) if meta else [],
            enabled=status.enabled,
            settings=cast(JSON, status.settings),
            problems=list(status.plugin.problems),
        )
