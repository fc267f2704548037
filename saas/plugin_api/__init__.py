"""The public plugin API (version 1.4): everything a plugin may import from `saas`.

A plugin, ours or a partner's, imports only from this package (and `saas.plugin_api.testing`
in its tests). Everything here is documented in docs/plugins.md and versioned by
`PLUGIN_API_VERSION`; anything else in `saas` may change without notice.
"""

from __future__ import annotations

import pluggy

from saas.accounts.credentials import forget_credentials_after_commit
from saas.audit.log import record_change, snapshot
from saas.auth.permissions import Role, require
from saas.auth.principal import Principal
from saas.customers.graphql.loaders import customer_of
from saas.customers.graphql.types import Customer as CustomerType
from saas.customers.rules import customer_visibility, customer_visible_to
from saas.customers.service import get_contact, get_customer
from saas.db.base import Base, TenantOwned, created_at_column, uuid_pk
from saas.db.conditions import SqlCondition
from saas.db.paging import Page, keyset_page
from saas.errors import (
    AppError,
    BadUserInputError,
    ConflictError,
    FieldError,
    ForbiddenError,
    InputInvalid,
    NotFoundError,
    UserErrorCode,
)
from saas.events.catalog import register_event_types
from saas.events.outbox import emit_event
from saas.events.payloads import api_object, node_ref
from saas.jobs.registry import JobContext, TenantJob, tenant_job
from saas.notifications.service import notify, notify_roles
from saas.plugin_api.outbound import FetchRefused, fetch_public, post_signed, seal_secret
from saas.plugin_api.sales import add_timeline_entry, create_follow_up_task, create_pool_lead
from saas.plugin_api.service import complaint_counts
from saas.plugin_api.tokens import create_api_key, forget_credentials, issue_scoped_token
from saas.plugin_host.contributions import (
    AutomationAction,
    AutomationCondition,
    CompiledNode,
    DemoContext,
    DomainEvent,
    GraphQLContribution,
    PeriodicJob,
    PermissionSpec,
    PluginContext,
    PluginMeta,
)
from saas.plugin_host.enablement import plugin_settings
from saas.plugin_host.version import PLUGIN_API_VERSION
from saas.portal.models import PortalAccess
from saas.portal.rules import is_portal as is_portal_principal
from saas.portal.rules import live_access as portal_access_of
from saas.portal.rules import live_access_condition as portal_access_condition
from saas.products.graphql.types import Product as ProductType
from saas.products.models import Product
from saas.realtime import listen, publish, publish_after_commit
from saas.schema.common import Node, PageInfo, Payload, UserError, provided, referenced_id, run_mutation, write_mutation
from saas.schema.compiled import Within, compiled_list, compiled_page
from saas.schema.compiler import Relation, SortKey, SqlType
from saas.schema.connections import Connection, CountedConnection, Edge, connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader
from saas.schema.nodes import permission_condition, single_object
from saas.schema.relay import (
    decode_cursor,
    decode_id,
    encode_cursor,
    global_id_sql,
    iso_datetime_sql,
    page_size,
    to_global_id,
)
from saas.tenancy.session import on_commit, tenant_predicate
from saas.validation import Checker

hookimpl = pluggy.HookimplMarker("saas")


class TenantModel(TenantOwned, Base):
    """Base of a plugin's tables: `tenant_id` leads the primary key; forced RLS is applied by `saas migrate`.

    Name tables with the plugin's prefix (`mfg_…`) and make every foreign key to another
    tenant table composite, `(tenant_id, …)`.
    """

    __abstract__ = True


__all__ = [
    "PLUGIN_API_VERSION",
    "AppError",
    "AutomationAction",
    "AutomationCondition",
    "BadUserInputError",
    "Checker",
    "CompiledNode",
    "ConflictError",
    "Connection",
    "CountedConnection",
    "CustomerType",
    "DemoContext",
    "DomainEvent",
    "Edge",
    "FetchRefused",
    "FieldError",
    "ForbiddenError",
    "GraphQLContribution",
    "InputInvalid",
    "JobContext",
    "Node",
    "NotFoundError",
    "Page",
    "PageInfo",
    "Payload",
    "PeriodicJob",
    "PermissionSpec",
    "PluginContext",
    "PluginMeta",
    "PortalAccess",
    "Principal",
    "Product",
    "ProductType",
    "Relation",
    "RequestContext",
    "Role",
    "SortKey",
    "SqlCondition",
    "SqlType",
    "TenantJob",
    "TenantModel",
    "UserError",
    "UserErrorCode",
    "Within",
    "add_timeline_entry",
    "api_object",
    "compiled_list",
    "compiled_page",
    "complaint_counts",
    "connection",
    "create_api_key",
    "create_follow_up_task",
    "create_pool_lead",
    "created_at_column",
    "customer_of",
    "customer_visibility",
    "customer_visible_to",
    "decode_cursor",
    "decode_id",
    "emit_event",
    "encode_cursor",
    "fetch_public",
    "forget_credentials",
    "forget_credentials_after_commit",
    "get_contact",
    "get_customer",
    "global_id_sql",
    "hookimpl",
    "is_portal_principal",
    "iso_datetime_sql",
    "issue_scoped_token",
    "keyset_page",
    "listen",
    "node_ref",
    "notify",
    "notify_roles",
    "on_commit",
    "page_arguments",
    "page_size",
    "permission_condition",
    "plugin_settings",
    "portal_access_condition",
    "portal_access_of",
    "post_signed",
    "provided",
    "publish",
    "publish_after_commit",
    "record_change",
    "referenced_id",
    "register_event_types",
    "request_loader",
    "require",
    "run_mutation",
    "seal_secret",
    "single_object",
    "snapshot",
    "tenant_job",
    "tenant_predicate",
    "to_global_id",
    "uuid_pk",
    "write_mutation",
]
