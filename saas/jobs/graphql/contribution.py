"""Background jobs' GraphQL, contributed the way a plugin's is: the dead-letter roots."""

from __future__ import annotations

from saas.plugin_host.contributions import GraphQLContribution
from saas.jobs.graphql.resolvers import JobMutations, JobQueries

contribution = GraphQLContribution(queries=(JobQueries,), mutations=(JobMutations,))
