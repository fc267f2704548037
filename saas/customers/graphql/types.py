"""GraphQL types of customers and contacts (the ORM path builds them from rows)."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import Enum
from typing import Annotated, cast

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.accounts.graphql.loaders import member_of
from saas.accounts.graphql.types import Member
from saas.custom_fields.graphql.types import CustomFieldFilterInput
from saas.custom_fields.rules import custom_field_filter
from saas.customers import models
from saas.customers.models import CustomerKind, LifecycleStage
from saas.customers.rules import CustomerFilter
from saas.schema.common import Node
from saas.schema.connections import CountedConnection
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id, to_global_id
from saas.sensitive.rules import shown_core_field, shown_custom_fields

# The domain's enums are the GraphQL enums: each is exposed once, here, under its own name.
strawberry.enum(CustomerKind, name="CustomerKind")
strawberry.enum(LifecycleStage, name="LifecycleStage")


@strawberry.type(description="A person at a customer.")
class Contact(Node):
    name: str
    title: str | None
    email: str | None = strawberry.field(
        description="Masked (`•••• 1234`) when the tenant marks it sensitive and the caller lacks `sensitive:read`."
    )
    phone: str | None = strawberry.field(
        description="E.164, e.g. +442079460958; masked like `email` when the tenant marks it sensitive."
    )
    is_primary: bool
    custom_fields: JSON = strawberry.field(description="The tenant's custom fields of contacts, by key.")
    version: int
    created_at: datetime
    updated_at: datetime
    customer_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def customer(
        self, info: Info[RequestContext, None]
    ) -> Annotated[Customer, strawberry.lazy("saas.customers.graphql.types")]:
        from saas.customers.graphql.loaders import customer_loader

        # A contact is read only through a customer the caller sees, so its customer is found.
        return await customer_loader(info.context).load(self.customer_id)  # type: ignore[return-value]

    @classmethod
    def from_model(cls, row: models.Contact) -> Contact:
        return cls(
            id=strawberry.ID(to_global_id("Contact", row.id)),
            name=row.name,
            title=row.title,
            email=shown_core_field(row.email, row.sensitive, "email"),
            phone=shown_core_field(row.phone, row.sensitive, "phone"),
            is_primary=row.is_primary,
            custom_fields=cast(JSON, shown_custom_fields(row.custom_fields)),
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            customer_id=row.customer_id,
        )


@strawberry.type(description="A company or person the tenant sells to.")
class Customer(Node):
    name: str
    kind: CustomerKind
    industry: str | None
    tier: str | None
    lifecycle_stage: LifecycleStage
    source: str | None
    tags: list[str]
    custom_fields: JSON = strawberry.field(description="The tenant's custom fields of customers, by key.")
    notes: str | None
    last_contacted_at: datetime | None
    next_follow_up_at: datetime | None
    version: int = strawberry.field(description="Pass it back to updates; a stale one fails with CONFLICT.")
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None
    raw_id: strawberry.Private[uuid.UUID]
    owner_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def owner(self, info: Info[RequestContext, None]) -> Member | None:
        return await member_of(info.context, self.owner_id)

    @strawberry.field(description="Contacts, the primary one first.")
    async def contacts(self, info: Info[RequestContext, None]) -> list[Contact]:
        from saas.customers.graphql.loaders import contacts_loader

        return await contacts_loader(info.context).load(self.raw_id)

    @classmethod
    def from_model(cls, row: models.Customer) -> Customer:
        return cls(
            id=strawberry.ID(to_global_id("Customer", row.id)),
            name=row.name,
            kind=CustomerKind(row.kind),
            industry=row.industry,
            tier=row.tier,
            lifecycle_stage=LifecycleStage(row.lifecycle_stage),
            source=row.source,
            tags=list(row.tags or []),
            custom_fields=cast(JSON, shown_custom_fields(row.custom_fields)),
            notes=row.notes,
            last_contacted_at=row.last_contacted_at,
            next_follow_up_at=row.next_follow_up_at,
            version=row.version,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deleted_at=row.deleted_at,
            raw_id=row.id,
            owner_id=row.owner_id,
        )


CustomerConnection = CountedConnection[Customer]


# -- list arguments of customers: the filter input and the orderings --------------------------


@strawberry.enum
class CustomerOrder(Enum):
    NAME_ASC = "NAME_ASC"
    NAME_DESC = "NAME_DESC"
    CREATED_AT_ASC = "CREATED_AT_ASC"
    CREATED_AT_DESC = "CREATED_AT_DESC"
    UPDATED_AT_ASC = "UPDATED_AT_ASC"
    UPDATED_AT_DESC = "UPDATED_AT_DESC"


@strawberry.enum
class DeletedState(Enum):
    ACTIVE = "active"
    DELETED = "deleted"
    ALL = "all"


@strawberry.input
class CustomerFilterInput:
    search: str | None = strawberry.field(default=None, description="Part of the name, case-insensitive.")
    owner_id: strawberry.ID | None = None
    unowned: bool | None = strawberry.field(default=None, description="True: only the public pool.")
    tag: str | None = None
    lifecycle_stage: LifecycleStage | None = None
    state: DeletedState = DeletedState.ACTIVE
    custom_field: CustomFieldFilterInput | None = strawberry.field(
        default=None, description="Customers whose custom field `key` has the value `equals`."
    )

    def to_rule(self) -> CustomerFilter:
        return CustomerFilter(
            search=self.search,
            owner_id=decode_id(self.owner_id, "Member") if self.owner_id else None,
            unowned=self.unowned,
            tag=self.tag,
            lifecycle_stage=self.lifecycle_stage,
            include_deleted=self.state is DeletedState.ALL,
            only_deleted=self.state is DeletedState.DELETED,
            custom_field=(
                custom_field_filter(self.custom_field.key, self.custom_field.equals) if self.custom_field else None
            ),
        )
