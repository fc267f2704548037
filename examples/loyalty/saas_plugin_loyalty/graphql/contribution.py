"""Loyalty's GraphQL contribution: its types, roots, `Customer.loyaltyPoints` and `node(id)` reads."""

from __future__ import annotations

from saas.plugin_api import GraphQLContribution

from saas_plugin_loyalty.graphql.mutations import LoyaltyMutations
from saas_plugin_loyalty.graphql.queries import LoyaltyQueries, load_entry
from saas_plugin_loyalty.graphql.sql import LOYALTY_POINTS
from saas_plugin_loyalty.graphql.types import LoyaltyCustomerFields, LoyaltyEntry, LoyaltyTier

contribution = GraphQLContribution(
    types=(LoyaltyEntry, LoyaltyTier),
    queries=(LoyaltyQueries,),
    mutations=(LoyaltyMutations,),
    type_fields={"Customer": (LoyaltyCustomerFields,)},
    sql_fields={"Customer": {"loyaltyPoints": LOYALTY_POINTS}},
    nodes={"LoyaltyEntry": load_entry},
)
