"""Plugin administration's GraphQL, contributed the way a plugin's is: its roots."""

from __future__ import annotations

from saas.plugin_host.contributions import GraphQLContribution
from saas.plugin_host.graphql.mutations import PluginMutations
from saas.plugin_host.graphql.queries import PluginQueries

contribution = GraphQLContribution(queries=(PluginQueries,), mutations=(PluginMutations,))
