"""GraphQL types of the product catalog."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import strawberry

from saas.products import models
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.relay import to_global_id


@strawberry.type(description="Something the tenant sells; order lines and plugins refer to it.")
class Product(Node):
    sku: str = strawberry.field(description="Unique within the tenant.")
    name: str
    description: str | None
    unit_price: Decimal = strawberry.field(description='A decimal string with two decimals, e.g. "19.90".')
    currency: str = strawberry.field(description="ISO 4217, e.g. EUR.")
    active: bool
    version: int
    created_at: datetime
    updated_at: datetime

    @classmethod
    def from_model(cls, row: models.Product) -> Product:
        return cls(
            id=strawberry.ID(to_global_id("Product", row.id)),
            sku=row.sku,
            name=row.name,
            description=row.description,
            unit_price=row.unit_price,
            currency=row.currency,
            active=row.active,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


ProductConnection = CountedConnection[Product]


@strawberry.input(description="All given conditions must hold.")
class ProductFilterInput:
    search: str | None = strawberry.field(default=None, description="Part of the name or SKU, any case.")
    active: bool | None = None
