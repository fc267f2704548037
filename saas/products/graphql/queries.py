"""Catalog reads: `products` (keyset-paged by name) and `product`."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from saas.products import service
from saas.products.graphql.types import Product, ProductConnection, ProductFilterInput
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id

CURSOR_TYPES = ("text", "uuid")


@strawberry.type
class CatalogQueries:
    @strawberry.field(description="The tenant's products by name, as a Relay connection (`first` at most 100).")
    async def products(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: ProductFilterInput | None = None,
    ) -> ProductConnection:
        context = info.context
        principal = context.require_principal()
        limit, position = page_arguments(first, after, CURSOR_TYPES, context.runtime.settings.max_page_size)
        flt = service.ProductFilter(search=filter.search, active=filter.active) if filter else service.ProductFilter()
        page = await context.read(service.list_products, principal, flt, limit, position)
        return connection(page, Product.from_model, lambda r: [r.name, r.id], has_previous_page=after is not None)

    @strawberry.field(description="One product; NOT_FOUND if it does not exist in the tenant.")
    async def product(self, info: Info[RequestContext, None], id: strawberry.ID) -> Product:
        context = info.context
        row = await context.read(service.get_product, context.require_principal(), decode_id(id, "Product"))
        return Product.from_model(row)
