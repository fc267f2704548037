"""Tenant features backed by the plugin host: enabled plugins, the permissions they grant, and
their say on scoped tokens."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from saas.auth.permissions import Role, permissions_for
from saas.auth.principal import Principal
from saas.plugin_host.contributions import PluginContext
from saas.plugin_host.enabled import enabled_plugins
from saas.plugin_host.host import PluginHost


def _no_events(event_type: str, payload: dict[str, Any]) -> None:
    raise RuntimeError(f"a credential check cannot emit events ({event_type})")


class PluginFeatures:
    def __init__(self, host: PluginHost) -> None:
        self.host = host

    def enabled(self, session: Session) -> frozenset[str]:
        """The tenant's enabled plugins that are installed and healthy here."""
        return frozenset(enabled_plugins(session, self.host))

    def permissions(self, role: Role, enabled: frozenset[str]) -> frozenset[str]:
        """The role's core permissions and those the enabled plugins grant it (one hook call
        reaching just those plugins)."""
        granted = set(permissions_for(role))
        for specs in self.host.hook_for(enabled).saas_permissions():
            granted.update(spec.name for spec in specs if role in spec.roles)
        return frozenset(granted)

    def scoped_token_stands(self, session: Session, principal: Principal) -> bool:
        """No plugin the tenant enabled refuses the token: none answers `saas_check_scoped_token`
        with False. Each is called with its own tenant settings, in the credential check's session.

        pluggy hands every implementation of one call the same arguments, and the context holds
        one plugin's settings, so each plugin is reached through a caller of its own
        (`hook_for([name])`), in the host's order; the first refusal ends the check."""
        if not principal.plugins:
            return True
        settings = enabled_plugins(session, self.host)
        for plugin in self.host.enabled(principal.plugins):
            context = PluginContext(principal.tenant_id, session, settings.get(plugin.name, {}), _no_events)
            answers = self.host.hook_for([plugin.name]).saas_check_scoped_token(context=context, principal=principal)
            if False in answers:
                return False
        return True
