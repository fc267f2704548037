"""The automation domain's GraphQL, contributed the way a plugin's is: roots, types and compiled `node(id)` reads."""

from __future__ import annotations

from saas.automation.graphql.mutations import AutomationMutations
from saas.automation.graphql.queries import AutomationQueries, load_rule, rule_condition
from saas.automation.graphql.sql import AUTOMATION_RULE
from saas.automation.graphql.types import AutomationRule, AutomationRun
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution

contribution = GraphQLContribution(
    types=(AutomationRule, AutomationRun),
    queries=(AutomationQueries,),
    mutations=(AutomationMutations,),
    compiled_nodes={"AutomationRule": CompiledNode(AUTOMATION_RULE, rule_condition, load_rule)},
)
