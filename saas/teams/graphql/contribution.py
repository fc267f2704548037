"""The teams domain's GraphQL, contributed the way a plugin's is: roots, types and compiled `node(id)` reads."""

from __future__ import annotations

from saas.plugin_host.contributions import CompiledNode, GraphQLContribution
from saas.teams.graphql.mutations import TeamMutations
from saas.teams.graphql.queries import TeamQueries, load_team, team_condition
from saas.teams.graphql.sql import TEAM
from saas.teams.graphql.types import Team

contribution = GraphQLContribution(
    types=(Team,),
    queries=(TeamQueries,),
    mutations=(TeamMutations,),
    compiled_nodes={"Team": CompiledNode(TEAM, team_condition, load_team)},
)
