"""Which plugins a tenant has enabled: the one answer that credentials, jobs and event dispatch use."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.plugin_host.host import PluginHost
from saas.plugin_host.models import TenantPlugin


def enabled_plugins(session: Session, host: PluginHost) -> dict[str, dict[str, Any]]:
    """Name → the tenant's stored settings, for the session tenant's enabled plugins that are
    healthy in this process, in the host's order.

    The session is bound to one tenant, so the tenant filter and row-level security decide whose
    rows are read; a plugin enabled by the tenant but broken or not installed here is left out,
    as if disabled, so that nothing of it runs for the tenant.
    """
    rows = session.execute(select(TenantPlugin.name, TenantPlugin.settings).where(TenantPlugin.enabled.is_(True)))
    settings = {name: dict(stored) for name, stored in rows}
    return {plugin.name: settings[plugin.name] for plugin in host.enabled(settings)}
