"""The portal's GraphQL, contributed the way a plugin's is."""

from __future__ import annotations

from saas.plugin_host.contributions import GraphQLContribution
from saas.portal.graphql.mutations import PortalMutations
from saas.portal.graphql.queries import PortalQueries, load_portal_access
from saas.portal.graphql.types import PortalAccess

contribution = GraphQLContribution(
    types=(PortalAccess,),
    queries=(PortalQueries,),
    mutations=(PortalMutations,),
    nodes={"PortalAccess": load_portal_access},
)
