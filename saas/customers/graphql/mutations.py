"""Customer and contact mutations: thin wrappers over saas/customers/service.py.

Each runs one service call through the kit (`write_mutation`); the service records the change's
side effects (audit, outbox, the live `customerEvents` message, forgetting the tenant's cached
credentials when a delete ends scoped tokens), so resolvers publish and forget nothing.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import strawberry
from sqlalchemy.orm import Session
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.auth.principal import Principal
from saas.customers import models, service
from saas.customers.graphql.types import Contact, Customer
from saas.customers.models import CustomerKind, LifecycleStage
from saas.schema.common import Payload, provided, referenced_id, write_mutation
from saas.schema.context import RequestContext
from saas.schema.relay import decode_id


def _customer_data(input_obj: Any) -> dict[str, Any]:
    data = provided(input_obj, skip=("id", "version"))
    if "owner_id" in data:
        data["owner_id"] = referenced_id(data["owner_id"], "Member", "ownerId")
    return data


@strawberry.input
class CreateCustomerInput:
    name: str
    kind: CustomerKind | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    tier: str | None = strawberry.UNSET
    lifecycle_stage: LifecycleStage | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.field(
        default=strawberry.UNSET, description="A Member id; sales reps own what they create."
    )
    source: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Values of the tenant's custom fields of customers, by key."
    )
    notes: str | None = strawberry.UNSET
    last_contacted_at: datetime | None = strawberry.UNSET
    next_follow_up_at: datetime | None = strawberry.UNSET
    allow_duplicate: bool | None = strawberry.field(
        default=strawberry.UNSET,
        description="True: create it even if a lead or customer has the same company name (else DUPLICATE).",
    )


@strawberry.input(description="Fields left out stay as they are; `version` must be the current one.")
class UpdateCustomerInput:
    id: strawberry.ID
    version: int
    name: str | None = strawberry.UNSET
    kind: CustomerKind | None = strawberry.UNSET
    industry: str | None = strawberry.UNSET
    tier: str | None = strawberry.UNSET
    lifecycle_stage: LifecycleStage | None = strawberry.UNSET
    owner_id: strawberry.ID | None = strawberry.UNSET
    source: str | None = strawberry.UNSET
    tags: list[str] | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Keys given are set, a key set to null is cleared, the others stay."
    )
    notes: str | None = strawberry.UNSET
    last_contacted_at: datetime | None = strawberry.UNSET
    next_follow_up_at: datetime | None = strawberry.UNSET


@strawberry.input
class DeleteCustomerInput:
    id: strawberry.ID
    version: int | None = None


@strawberry.input
class RestoreCustomerInput:
    id: strawberry.ID


@strawberry.input
class CreateContactInput:
    customer_id: strawberry.ID
    name: str
    title: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    is_primary: bool | None = strawberry.field(
        default=strawberry.UNSET, description="The first contact becomes primary by default."
    )
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Values of the tenant's custom fields of contacts, by key."
    )


@strawberry.input
class UpdateContactInput:
    id: strawberry.ID
    version: int
    name: str | None = strawberry.UNSET
    title: str | None = strawberry.UNSET
    email: str | None = strawberry.UNSET
    phone: str | None = strawberry.UNSET
    is_primary: bool | None = strawberry.UNSET
    custom_fields: JSON | None = strawberry.field(
        default=strawberry.UNSET, description="Keys given are set, a key set to null is cleared, the others stay."
    )


@strawberry.input
class DeleteContactInput:
    id: strawberry.ID
    version: int | None = None


@strawberry.type
class CustomerPayload(Payload):
    customer: Customer | None = None


@strawberry.type
class CreateCustomerPayload(CustomerPayload):
    pass


@strawberry.type
class UpdateCustomerPayload(CustomerPayload):
    pass


@strawberry.type
class DeleteCustomerPayload(CustomerPayload):
    pass


@strawberry.type
class RestoreCustomerPayload(CustomerPayload):
    pass


@strawberry.type
class ContactPayload(Payload):
    contact: Contact | None = None


@strawberry.type
class CreateContactPayload(ContactPayload):
    pass


@strawberry.type
class UpdateContactPayload(ContactPayload):
    pass


@strawberry.type
class DeleteContactPayload(ContactPayload):
    pass


def _customer(row: models.Customer) -> dict[str, Any]:
    return {"customer": Customer.from_model(row)}


def _contact(row: models.Contact) -> dict[str, Any]:
    return {"contact": Contact.from_model(row)}


def _create_customer(session: Session, principal: Principal, input_obj: CreateCustomerInput) -> models.Customer:
    # The input is read inside the transaction: a bad `ownerId` is a user error, nothing written.
    return service.create_customer(session, principal, _customer_data(input_obj))


def _update_customer(
    session: Session, principal: Principal, customer_id: uuid.UUID, input_obj: UpdateCustomerInput
) -> models.Customer:
    return service.update_customer(session, principal, customer_id, input_obj.version, _customer_data(input_obj))


@strawberry.type
class CustomerMutations:
    @strawberry.mutation
    async def create_customer(
        self, info: Info[RequestContext, None], input: CreateCustomerInput
    ) -> CreateCustomerPayload:
        return await write_mutation(info.context, CreateCustomerPayload, _customer, _create_customer, input)

    @strawberry.mutation(description="Changes the given fields; fails with CONFLICT when `version` is stale.")
    async def update_customer(
        self, info: Info[RequestContext, None], input: UpdateCustomerInput
    ) -> UpdateCustomerPayload:
        raw_id = decode_id(input.id, "Customer")
        return await write_mutation(info.context, UpdateCustomerPayload, _customer, _update_customer, raw_id, input)

    @strawberry.mutation(description="Soft delete: the customer can be restored.")
    async def delete_customer(
        self, info: Info[RequestContext, None], input: DeleteCustomerInput
    ) -> DeleteCustomerPayload:
        raw_id = decode_id(input.id, "Customer")
        return await write_mutation(
            info.context, DeleteCustomerPayload, _customer, service.delete_customer, raw_id, input.version
        )

    @strawberry.mutation
    async def restore_customer(
        self, info: Info[RequestContext, None], input: RestoreCustomerInput
    ) -> RestoreCustomerPayload:
        raw_id = decode_id(input.id, "Customer")
        return await write_mutation(info.context, RestoreCustomerPayload, _customer, service.restore_customer, raw_id)

    @strawberry.mutation
    async def create_contact(self, info: Info[RequestContext, None], input: CreateContactInput) -> CreateContactPayload:
        customer_id = decode_id(input.customer_id, "Customer")
        data = provided(input, skip=("customer_id",))
        return await write_mutation(
            info.context, CreateContactPayload, _contact, service.create_contact, customer_id, data
        )

    @strawberry.mutation
    async def update_contact(self, info: Info[RequestContext, None], input: UpdateContactInput) -> UpdateContactPayload:
        raw_id = decode_id(input.id, "Contact")
        data = provided(input, skip=("id", "version"))
        return await write_mutation(
            info.context, UpdateContactPayload, _contact, service.update_contact, raw_id, input.version, data
        )

    @strawberry.mutation
    async def delete_contact(self, info: Info[RequestContext, None], input: DeleteContactInput) -> DeleteContactPayload:
        raw_id = decode_id(input.id, "Contact")
        return await write_mutation(
            info.context, DeleteContactPayload, _contact, service.delete_contact, raw_id, input.version
        )
