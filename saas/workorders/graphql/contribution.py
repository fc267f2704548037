"""The work orders domain's GraphQL, contributed the way a plugin's is: roots, types and the compiled `node(id)` read."""

from __future__ import annotations

from saas.plugin_host.contributions import CompiledNode, GraphQLContribution
from saas.workorders.graphql.mutations import WorkOrderMutations
from saas.workorders.graphql.queries import WorkOrderQueries, load_work_order, work_order_condition
from saas.workorders.graphql.sql import WORK_ORDER
from saas.workorders.graphql.types import WorkOrder

contribution = GraphQLContribution(
    types=(WorkOrder,),
    queries=(WorkOrderQueries,),
    mutations=(WorkOrderMutations,),
    compiled_nodes={"WorkOrder": CompiledNode(WORK_ORDER, work_order_condition, load_work_order)},
)
