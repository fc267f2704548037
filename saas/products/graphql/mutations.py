"""Catalog mutations: thin wrappers over saas/products/service.py."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import strawberry
from strawberry.types import Info

from saas.products import service
from saas.products.graphql.types import Product
from saas.schema.common import Payload, provided, write_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


@strawberry.input
class CreateProductInput:
    sku: str
    name: str
    unit_price: Decimal
    currency: str | None = strawberry.field(default=strawberry.UNSET, description="ISO 4217; USD when left out.")
    description: str | None = strawberry.UNSET
    active: bool | None = strawberry.field(default=strawberry.UNSET, description="True when left out.")


@strawberry.input(description="Fields left out stay as they are; `version` must be the current one.")
class UpdateProductInput:
    id: strawberry.ID
    version: int
    sku: str | None = strawberry.UNSET
    name: str | None = strawberry.UNSET
    unit_price: Decimal | None = strawberry.UNSET
    currency: str | None = strawberry.UNSET
    description: str | None = strawberry.UNSET
    active: bool | None = strawberry.UNSET


@strawberry.type
class ProductPayload(Payload):
    product: Product | None = None


@strawberry.type
class CreateProductPayload(ProductPayload):
    pass


@strawberry.type
class UpdateProductPayload(ProductPayload):
    pass


def _product(row: Any) -> dict[str, Any]:
    return {"product": Product.from_model(row)}


@strawberry.type
class CatalogMutations:
    @strawberry.mutation(description="A new product; a SKU already used in the tenant is TAKEN.")
    async def create_product(self, info: Info[RequestContext, None], input: CreateProductInput) -> CreateProductPayload:
        return await write_mutation(
            info.context, CreateProductPayload, _product, service.create_product, provided(input)
        )

    @strawberry.mutation(description="Changes the given fields; fails with CONFLICT when `version` is stale.")
    async def update_product(self, info: Info[RequestContext, None], input: UpdateProductInput) -> UpdateProductPayload:
        raw_id = decode_id(input.id, "Product")
        return await write_mutation(
            info.context,
            UpdateProductPayload,
            _product,
            service.update_product,
            raw_id,
            input.version,
            provided(input, skip=("id", "version")),
        )
