"""The exports' GraphQL, contributed the way a plugin's is."""

from __future__ import annotations

from saas.exports.graphql.mutations import ExportMutations
from saas.exports.graphql.queries import ExportQueries, load_export_job
from saas.exports.graphql.types import ExportJob
from saas.plugin_host.contributions import GraphQLContribution

contribution = GraphQLContribution(
    types=(ExportJob,),
    queries=(ExportQueries,),
    mutations=(ExportMutations,),
    nodes={"ExportJob": load_export_job},
)
