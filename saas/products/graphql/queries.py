"""Catalog reads: `products` (keyset-paged by name, compiled into one SQL statement) and `product`."""

from __future__ import annotations

import strawberry
from strawberry.types import Info

from saas.auth.permissions import PRODUCTS_READ, require
from saas.products import models, service
from saas.products.graphql.sql import PRODUCT, PRODUCT_SORT
from saas.products.graphql.types import Product, ProductConnection, ProductFilterInput
from saas.products.rules import product_conditions
from saas.schema.compiled import compiled_page
from saas.schema.connections import connection, page_arguments
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


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
        require(principal.permissions, PRODUCTS_READ)
        flt = service.ProductFilter(search=filter.search, active=filter.active) if filter else service.ProductFilter()
        condition = product_conditions("r", flt.active, flt.search)

        async def resolved() -> ProductConnection:
            """The resolver path, for a selection with a field that has no SQL mapping (a plugin's)."""
            limit, position = page_arguments(first, after, PRODUCT_SORT.casts, context.runtime.settings.max_page_size)
            page = await context.read(service.list_products, principal, flt, limit, position)
            return connection(page, Product.from_model, lambda r: [r.name, r.id], has_previous_page=after is not None)

        return await compiled_page(  # type: ignore[no-any-return]
            info,
            PRODUCT,
            models.Product,
            Product.from_model,
            condition,
            PRODUCT_SORT,
            first,
            after,
            page_fallback=resolved,
        )

    @strawberry.field(description="One product; NOT_FOUND if it does not exist in the tenant.")
    async def product(self, info: Info[RequestContext, None], id: strawberry.ID) -> Product:
        context = info.context
        row = await context.read(service.get_product, context.require_principal(), decode_id(id, "Product"))
        return Product.from_model(row)
