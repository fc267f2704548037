"""Tenant features backed by the plugin host: enabled plugins and the permissions they grant."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.auth.permissions import Role, permissions_for
from saas.plugins.host import PluginHost
from saas.plugins.models import TenantPlugin


class PluginFeatures:
    def __init__(self, host: PluginHost) -> None:
        self.host = host

    def enabled(self, session: Session) -> frozenset[str]:
        """The tenant's enabled plugins that are installed and healthy here."""
        names = session.scalars(select(TenantPlugin.name).where(TenantPlugin.enabled.is_(True)))
        return frozenset(names) & self.host.healthy_names()

    def permissions(self, role: Role, enabled: frozenset[str]) -> frozenset[str]:
        granted = set(permissions_for(role))
        for plugin in self.host.enabled(enabled):
            granted.update(p.name for p in plugin.permissions if role in p.roles)
        return frozenset(granted)
