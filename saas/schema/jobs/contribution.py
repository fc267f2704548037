"""Background jobs' GraphQL, contributed the way a plugin's is: the dead-letter roots."""

from __future__ import annotations

from saas.plugins.contributions import GraphQLContribution
from saas.schema.jobs.resolvers import JobMutations, JobQueries

contribution = GraphQLContribution(queries=(JobQueries,), mutations=(JobMutations,))
