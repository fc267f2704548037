"""The product catalog's GraphQL, contributed the way a plugin's is: roots and `node(id)` reads."""

from __future__ import annotations

import uuid

from saas.plugin_host.contributions import GraphQLContribution
from saas.products import service
from saas.products.graphql.mutations import CatalogMutations
from saas.products.graphql.queries import CatalogQueries
from saas.products.graphql.types import Product
from saas.schema.context import RequestContext


async def _load_product(context: RequestContext, raw_id: uuid.UUID) -> Product:
    return Product.from_model(await context.read(service.get_product, context.require_principal(), raw_id))


contribution = GraphQLContribution(
    queries=(CatalogQueries,), mutations=(CatalogMutations,), nodes={"Product": _load_product}
)
