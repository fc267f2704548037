"""The tenant data export's GraphQL, contributed the way a plugin's is."""

from __future__ import annotations

from saas.plugin_host.contributions import GraphQLContribution
from saas.tenant_data.graphql.mutations import TenantDataMutations
from saas.tenant_data.graphql.queries import TenantDataQueries
from saas.tenant_data.graphql.subscriptions import TenantDataSubscriptions
from saas.tenant_data.graphql.types import TenantExport, TenantExportProgress

contribution = GraphQLContribution(
    types=(TenantExport, TenantExportProgress),
    queries=(TenantDataQueries,),
    mutations=(TenantDataMutations,),
    subscriptions=(TenantDataSubscriptions,),
)
