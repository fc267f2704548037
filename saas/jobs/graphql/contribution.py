"""Background jobs' GraphQL, contributed the way a plugin's is: the dead-letter roots."""

from __future__ import annotations

from saas.jobs.graphql.resolvers import JobMutations, JobQueries
from saas.plugin_host.contributions import GraphQLContribution

contribution = GraphQLContribution(queries=(JobQueries,), mutations=(JobMutations,))
