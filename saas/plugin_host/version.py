"""The plugin API version: a plugin written for MAJOR.MINOR runs on a host with the same MAJOR and a MINOR at least as new."""

from __future__ import annotations

PLUGIN_API_VERSION = "1.6"  # 1.1 added the `saas_event_types` hook; 1.2 the `saas_demo` hook; 1.3 the core portal (`PortalAccess`, `portal_access_of`, `is_portal_principal`) and `sql_fields`; 1.4 the `saas_automation` hook (`AutomationAction`, `AutomationCondition`), `DomainEvent.causation_depth`, `fetch_public` and the `saas_tenant_deleted` hook; 1.5 the compiled reads' `Within`, `compiled_page(within=, page_fallback=)`, `SortKey.cursor_table` and `portal_access_condition`; 1.6 `SqlCondition.given` and `compiled_page(counts=)`


def compatible(wanted: str, provided: str = PLUGIN_API_VERSION) -> bool:
    try:
        wanted_major, wanted_minor = (int(part) for part in wanted.split("."))
        major, minor = (int(part) for part in provided.split("."))
    except ValueError:
        return False
    return wanted_major == major and wanted_minor <= minor
