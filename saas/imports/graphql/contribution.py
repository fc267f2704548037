"""The imports domain's GraphQL, contributed the way a plugin's is: roots, types, live progress and `node(id)`."""

from __future__ import annotations

from saas.imports.graphql.mutations import ImportMutations
from saas.imports.graphql.queries import ImportQueries, import_condition, load_import_job
from saas.imports.graphql.sql import IMPORT_JOB
from saas.imports.graphql.subscriptions import ImportSubscriptions
from saas.imports.graphql.types import ImportJob, ImportRow, ImportRowError
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution

contribution = GraphQLContribution(
    types=(ImportJob, ImportRow, ImportRowError),
    queries=(ImportQueries,),
    mutations=(ImportMutations,),
    subscriptions=(ImportSubscriptions,),
    compiled_nodes={"ImportJob": CompiledNode(IMPORT_JOB, import_condition, load_import_job)},
)
