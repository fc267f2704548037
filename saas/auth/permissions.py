"""Roles, the permissions each grants, and the one permission check everything calls."""

from __future__ import annotations

from enum import StrEnum

from saas.errors import ForbiddenError


class Role(StrEnum):
    OWNER = "owner"
    ADMIN = "admin"
    MANAGER = "manager"
    SALES = "sales"
    SERVICE = "service"
    VIEWER = "viewer"


CUSTOMERS_READ = "customers:read"
CUSTOMERS_WRITE = "customers:write"
CUSTOMERS_DELETE = "customers:delete"
MEMBERS_READ = "members:read"
MEMBERS_MANAGE = "members:manage"
API_KEYS_MANAGE = "api_keys:manage"
AUDIT_READ = "audit:read"
PLUGINS_MANAGE = "plugins:manage"
JOBS_READ = "jobs:read"
JOBS_MANAGE = "jobs:manage"
PRODUCTS_READ = "products:read"
PRODUCTS_WRITE = "products:write"
WEBHOOKS_MANAGE = "webhooks:manage"
LEADS_READ = "leads:read"
LEADS_WRITE = "leads:write"
CHANNELS_MANAGE = "channels:manage"
TEAMS_MANAGE = "teams:manage"
SALES_SETTINGS_MANAGE = "sales_settings:manage"
DEALS_READ = "deals:read"
DEALS_WRITE = "deals:write"
PIPELINE_MANAGE = "pipeline:manage"
CUSTOM_FIELDS_MANAGE = "custom_fields:manage"
KNOWLEDGE_READ = "knowledge:read"
KNOWLEDGE_WRITE = "knowledge:write"
RETURNS_READ = "returns:read"
RETURNS_WRITE = "returns:write"
WORK_ORDERS_READ = "work_orders:read"
WORK_ORDERS_WRITE = "work_orders:write"
TICKETS_READ = "tickets:read"
TICKETS_WRITE = "tickets:write"
# Ticket types, classification rules, agents' skills, SLA policies, and assigning to others.
TICKETS_MANAGE = "tickets:manage"
PORTAL_MANAGE = "portal:manage"
# Automation rules (saas/automation): they act for the whole tenant, so admins and owners only.
AUTOMATION_MANAGE = "automation:manage"
# Reading sensitive values decrypted (others see the mask); owners and admins by default.
SENSITIVE_READ = "sensitive:read"
# Export of all the tenant's data (`exportTenantData`): the owner's alone, never an admin's or a key's.
TENANT_EXPORT = "tenant:export"

ALL_PERMISSIONS = frozenset(
    {
        CUSTOMERS_READ,
        CUSTOMERS_WRITE,
        CUSTOMERS_DELETE,
        MEMBERS_READ,
        MEMBERS_MANAGE,
        API_KEYS_MANAGE,
        AUDIT_READ,
        PLUGINS_MANAGE,
        JOBS_READ,
        JOBS_MANAGE,
        PRODUCTS_READ,
        PRODUCTS_WRITE,
        WEBHOOKS_MANAGE,
        LEADS_READ,
        LEADS_WRITE,
        CHANNELS_MANAGE,
        TEAMS_MANAGE,
        SALES_SETTINGS_MANAGE,
        DEALS_READ,
        DEALS_WRITE,
        PIPELINE_MANAGE,
        CUSTOM_FIELDS_MANAGE,
        KNOWLEDGE_READ,
        KNOWLEDGE_WRITE,
        RETURNS_READ,
        RETURNS_WRITE,
        WORK_ORDERS_READ,
        WORK_ORDERS_WRITE,
        TICKETS_READ,
        TICKETS_WRITE,
        TICKETS_MANAGE,
        PORTAL_MANAGE,
        AUTOMATION_MANAGE,
        SENSITIVE_READ,
    }
)

# After-sales service: service members and managers run it; sales reps file returns for their
# customers and read the knowledge base and the technicians' calendars; viewers read.
SERVICE_ALL = frozenset(
    {KNOWLEDGE_READ, KNOWLEDGE_WRITE, RETURNS_READ, RETURNS_WRITE, WORK_ORDERS_READ, WORK_ORDERS_WRITE}
)
SERVICE_READ = frozenset({KNOWLEDGE_READ, RETURNS_READ, WORK_ORDERS_READ})

ROLE_PERMISSIONS: dict[Role, frozenset[str]] = {
    Role.OWNER: ALL_PERMISSIONS | {TENANT_EXPORT},
    Role.ADMIN: ALL_PERMISSIONS,
    Role.MANAGER: frozenset(
        {CUSTOMERS_READ, CUSTOMERS_WRITE, CUSTOMERS_DELETE, MEMBERS_READ, PRODUCTS_READ, PRODUCTS_WRITE}
        | {DEALS_READ, DEALS_WRITE}
        | {LEADS_READ, LEADS_WRITE, CHANNELS_MANAGE}
        | SERVICE_ALL
        | {TICKETS_READ, TICKETS_WRITE, TICKETS_MANAGE, PORTAL_MANAGE}
    ),
    Role.SALES: frozenset(
        {CUSTOMERS_READ, CUSTOMERS_WRITE, MEMBERS_READ, PRODUCTS_READ}
        | {DEALS_READ, DEALS_WRITE}
        | {LEADS_READ, LEADS_WRITE}
        | SERVICE_READ
        | {RETURNS_WRITE}
        | {TICKETS_READ, TICKETS_WRITE}
    ),
    Role.SERVICE: frozenset(
        {CUSTOMERS_READ, CUSTOMERS_WRITE, MEMBERS_READ, PRODUCTS_READ}
        | {DEALS_READ}
        | {LEADS_READ}
        | SERVICE_ALL
        | {TICKETS_READ, TICKETS_WRITE}
    ),
    Role.VIEWER: frozenset(
        {CUSTOMERS_READ, MEMBERS_READ, PRODUCTS_READ} | {DEALS_READ} | {LEADS_READ} | SERVICE_READ | {TICKETS_READ}
    ),
}

# Roles that see every owned sales record of the tenant (customers, leads, ...); the others see
# their own, the pool's and, as managers of teams, their members' (`owner_visibility`).
ROLES_SEEING_ALL_CUSTOMERS = frozenset({Role.OWNER, Role.ADMIN, Role.VIEWER, Role.SERVICE})


def permissions_for(role: Role) -> frozenset[str]:
    return ROLE_PERMISSIONS[role]


def require(granted: frozenset[str], permission: str) -> None:
    if permission not in granted:
        raise ForbiddenError(f"Missing permission {permission}", permission=permission)
