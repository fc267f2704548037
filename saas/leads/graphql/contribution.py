"""The leads domain's GraphQL, contributed the way a plugin's is: roots, types and compiled `node(id)` reads."""

from __future__ import annotations

from saas.leads.graphql.mutations import LeadMutations
from saas.leads.graphql.queries import LeadQueries, channel_condition, lead_condition, load_channel, load_lead
from saas.leads.graphql.sql import CHANNEL, LEAD
from saas.leads.graphql.types import Channel, Lead
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution

contribution = GraphQLContribution(
    types=(Channel, Lead),
    queries=(LeadQueries,),
    mutations=(LeadMutations,),
    compiled_nodes={
        "Lead": CompiledNode(LEAD, lead_condition, load_lead),
        "Channel": CompiledNode(CHANNEL, channel_condition, load_channel),
    },
)
