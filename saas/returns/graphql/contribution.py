"""The returns domain's GraphQL, contributed the way a plugin's is: roots, types and compiled `node(id)` reads."""

from __future__ import annotations

from saas.plugin_host.contributions import CompiledNode, GraphQLContribution
from saas.returns.graphql.mutations import ReturnMutations
from saas.returns.graphql.queries import (
    ReturnQueries,
    load_return,
    load_return_line,
    return_condition,
    return_line_condition,
)
from saas.returns.graphql.sql import RETURN_LINE, RETURN_REQUEST
from saas.returns.graphql.types import ReturnLine, ReturnRequest

contribution = GraphQLContribution(
    types=(ReturnRequest, ReturnLine),
    queries=(ReturnQueries,),
    mutations=(ReturnMutations,),
    compiled_nodes={
        "ReturnRequest": CompiledNode(RETURN_REQUEST, return_condition, load_return),
        "ReturnLine": CompiledNode(RETURN_LINE, return_line_condition, load_return_line),
    },
)
