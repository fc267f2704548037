"""Plugin administration's GraphQL, contributed the way a plugin's is: its roots."""

from __future__ import annotations

from saas.plugins.contributions import GraphQLContribution
from saas.schema.plugins.resolvers import PluginMutations, PluginQueries

contribution = GraphQLContribution(queries=(PluginQueries,), mutations=(PluginMutations,))
