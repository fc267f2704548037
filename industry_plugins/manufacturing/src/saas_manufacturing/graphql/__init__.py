"""The plugin's GraphQL contribution: types, root fields and subscriptions (see `contribution`)."""

from __future__ import annotations

from saas.plugin_api import GraphQLContribution


def contribution() -> GraphQLContribution:
    from saas_manufacturing.graphql.mutations import ManufacturingMutations
    from saas_manufacturing.graphql.nodes import NODES
    from saas_manufacturing.graphql.queries import ManufacturingQueries
    from saas_manufacturing.graphql.subscriptions import ManufacturingSubscriptions
    from saas_manufacturing.graphql.types import TYPES

    return GraphQLContribution(
        types=TYPES,
        queries=(ManufacturingQueries,),
        mutations=(ManufacturingMutations,),
        subscriptions=(ManufacturingSubscriptions,),
        nodes=NODES,
    )
