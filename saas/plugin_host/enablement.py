"""A tenant admin lists plugins and switches them on and off; disabling keeps all the data."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pydantic
from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.audit.log import record_change, snapshot
from saas.auth.permissions import PLUGINS_MANAGE, require
from saas.auth.principal import Principal
from saas.errors import FieldError, InputInvalid, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.plugin_host.contributions import PluginContext
from saas.plugin_host.host import LoadedPlugin, PluginHost
from saas.plugin_host.models import TenantPlugin
from saas.tenancy.session import bound_tenant


@dataclass(frozen=True)
class PluginStatus:
    plugin: LoadedPlugin
    enabled: bool
    settings: dict[str, Any]


def _invalid(field: str, code: UserErrorCode, message: str) -> InputInvalid:
    return InputInvalid([FieldError(["input", field], code, message)])


def tenant_rows(session: Session) -> dict[str, TenantPlugin]:
    return {row.name: row for row in session.scalars(select(TenantPlugin))}


def list_plugins(session: Session, principal: Principal, host: PluginHost) -> list[PluginStatus]:
    """Every installed plugin, broken ones included (with their problems), and the tenant's state."""
    require(principal.permissions, PLUGINS_MANAGE)
    rows = tenant_rows(session)
    statuses = []
    for plugin in sorted(host.plugins.values(), key=lambda p: p.name):
        row = rows.get(plugin.name)
        enabled = bool(row and row.enabled and not plugin.broken)
        statuses.append(PluginStatus(plugin, enabled, row.settings if row else {}))
    return statuses


def _validated_settings(plugin: LoadedPlugin, settings: dict[str, Any] | None) -> dict[str, Any]:
    if plugin.settings_model is None:
        if settings:
            raise _invalid("settings", UserErrorCode.INVALID, f"{plugin.name} takes no settings")
        return {}
    try:
        model = plugin.settings_model.model_validate(settings or {})  # type: ignore[attr-defined]
    except pydantic.ValidationError as exc:
        raise InputInvalid(
            [
                FieldError(["input", "settings", *(str(p) for p in error["loc"])], UserErrorCode.INVALID, error["msg"])
                for error in exc.errors()
            ]
        ) from None
    return dict(model.model_dump(mode="json"))


def _installed(host: PluginHost, name: str) -> LoadedPlugin:
    plugin = host.get(name)
    if plugin is None:
        problem = "is broken" if name in host.plugins else "is not installed"
        raise _invalid("name", UserErrorCode.NOT_FOUND, f"Plugin {name!r} {problem}")
    return plugin


def enable_plugin(
    session: Session, principal: Principal, host: PluginHost, name: str, settings: dict[str, Any] | None
) -> PluginStatus:
    require(principal.permissions, PLUGINS_MANAGE)
    plugin = _installed(host, name)
    rows = tenant_rows(session)
    assert plugin.meta is not None
    missing = [r for r in plugin.meta.requires if not (rows.get(r) and rows[r].enabled)]
    if missing:
        raise _invalid("name", UserErrorCode.REQUIREMENT_MISSING, f"Enable {', '.join(missing)} first")
    row = rows.get(name)
    before = snapshot(row) if row else None
    # Enabling again keeps the stored settings unless new ones are given.
    clean = _validated_settings(plugin, settings if settings is not None else (row.settings if row else None))
    if row is None:
        row = TenantPlugin(name=name, enabled=True, settings=clean)
        session.add(row)
    else:
        row.enabled, row.settings, row.updated_at = True, clean, datetime.now(UTC)
    session.flush()
    status = PluginStatus(plugin, True, clean)
    # Recorded first: the events of what the plugin does when enabled follow `plugin.enabled`.
    _record(session, principal, "plugin.enabled", row, before, status)
    context = PluginContext(tenant_id=principal.tenant_id, session=session, settings=clean, emit=lambda *_: None)
    host.hook_for([name]).saas_on_enable(context=context, settings=clean)
    return status


def update_plugin_settings(
    session: Session, principal: Principal, host: PluginHost, name: str, settings: dict[str, Any]
) -> PluginStatus:
    require(principal.permissions, PLUGINS_MANAGE)
    plugin = _installed(host, name)
    row = tenant_rows(session).get(name)
    if row is None or not row.enabled:
        raise _invalid("name", UserErrorCode.INVALID, f"Plugin {name!r} is not enabled")
    before = snapshot(row)
    row.settings, row.updated_at = _validated_settings(plugin, settings), datetime.now(UTC)
    session.flush()
    status = PluginStatus(plugin, True, row.settings)
    _record(session, principal, "plugin.settings_changed", row, before, status)
    return status


def disable_plugin(session: Session, principal: Principal, host: PluginHost, name: str) -> PluginStatus:
    require(principal.permissions, PLUGINS_MANAGE)
    rows = tenant_rows(session)
    row = rows.get(name)
    if row is None or not row.enabled:
        raise _invalid("name", UserErrorCode.INVALID, f"Plugin {name!r} is not enabled")
    dependants = [
        p.name for p in host.enabled(n for n, r in rows.items() if r.enabled) if p.meta and name in p.meta.requires
    ]
    if dependants:
        raise _invalid("name", UserErrorCode.REQUIRED_BY_OTHERS, f"Disable {', '.join(dependants)} first")
    before = snapshot(row)
    row.enabled, row.updated_at = False, datetime.now(UTC)
    session.flush()
    plugin = host.plugins.get(name)
    assert plugin is not None
    status = PluginStatus(plugin, False, row.settings)
    _record(session, principal, "plugin.disabled", row, before, status)
    return status


def _record(
    session: Session,
    principal: Principal,
    action: str,
    row: TenantPlugin,
    before: dict[str, Any] | None,
    status: PluginStatus,
) -> None:
    """The audit entry and the domain event of a change of the tenant's plugin (outbox, same transaction).

    The event carries the plugin as the `plugins` query returns it (`api_object` of the
    GraphQL `Plugin`): its name, its state for the tenant and its settings as validated and
    stored. The GraphQL type is imported here, not at the top: it imports this module.
    """
    from saas.plugin_host.graphql.types import Plugin as PluginType

    record_change(session, principal, action, "Plugin", row.name, before, snapshot(row))
    emit_event(session, action, {"plugin": api_object(PluginType.from_status(status))})


def plugin_settings(session: Session, name: str) -> dict[str, Any]:
    """The session tenant's stored settings of plugin `name` (empty when it never enabled it)."""
    row = session.get(TenantPlugin, (bound_tenant(session), name))
    return dict(row.settings) if row is not None else {}
