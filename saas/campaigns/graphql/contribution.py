"""The campaigns' GraphQL, contributed the way a plugin's is: roots, types, `Campaign.members`
(with its compiled SQL) and compiled `node(id)` reads."""

from __future__ import annotations

from saas.campaigns.graphql.mutations import CampaignMutations
from saas.campaigns.graphql.queries import CampaignMemberFields, CampaignQueries, campaign_condition, load_campaign
from saas.campaigns.graphql.sql import CAMPAIGN, CAMPAIGN_FIELDS
from saas.campaigns.graphql.types import Campaign, CampaignMember, CampaignMemberConnection, CampaignResponse
from saas.plugin_host.contributions import CompiledNode, GraphQLContribution

contribution = GraphQLContribution(
    types=(Campaign, CampaignMember, CampaignMemberConnection, CampaignResponse),
    queries=(CampaignQueries,),
    mutations=(CampaignMutations,),
    type_fields={"Campaign": (CampaignMemberFields,)},
    sql_fields={"Campaign": dict(CAMPAIGN_FIELDS)},
    compiled_nodes={"Campaign": CompiledNode(CAMPAIGN, campaign_condition, load_campaign)},
)
