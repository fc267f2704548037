"""Follow-ups' GraphQL, contributed the way a plugin's is: roots, types, `Customer` fields
(with their compiled SQL) and `node(id)` reads."""

from __future__ import annotations

from saas.followups.graphql.mutations import FollowUpMutations
from saas.followups.graphql.queries import (
    CustomerFollowUpFields,
    FollowUpQueries,
    activity_node_condition,
    handover_node_condition,
    load_activity,
    load_handover,
    load_task,
    task_node_condition,
)
from saas.followups.graphql.sql import ACTIVITY, CUSTOMER_FOLLOW_UP_FIELDS, CUSTOMER_HANDOVER, TASK
from saas.followups.graphql.types import Activity, Agenda, CustomerHandover, Task, TimelineConnection, TimelineEntry
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution

contribution = GraphQLContribution(
    types=(Activity, Task, CustomerHandover, TimelineEntry, TimelineConnection, Agenda),
    queries=(FollowUpQueries,),
    mutations=(FollowUpMutations,),
    type_fields={"Customer": (CustomerFollowUpFields,)},
    sql_fields={"Customer": dict(CUSTOMER_FOLLOW_UP_FIELDS)},
    compiled_nodes={
        "Activity": CompiledNode(ACTIVITY, activity_node_condition, load_activity),
        "Task": CompiledNode(TASK, task_node_condition, load_task),
        "CustomerHandover": CompiledNode(CUSTOMER_HANDOVER, handover_node_condition, load_handover),
    },
)
