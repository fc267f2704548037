"""Background jobs' GraphQL, contributed the way a plugin's is: the dead-letter roots."""

from __future__ import annotations

from saas.jobs.graphql.mutations import JobMutations
from saas.jobs.graphql.queries import JobQueries
from saas.plugin_host.contributions import GraphQLContribution

contribution = GraphQLContribution(queries=(JobQueries,), mutations=(JobMutations,))
