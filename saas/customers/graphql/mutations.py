"""Customer and contact mutations: thin wrappers over saas/customers/service.py."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from saas.customers import models, service
from saas.customers.graphql.types import Contact, Customer
from saas.customers.models import CustomerKind, LifecycleStage
from saas.schema.common import Payload, provided, referenced_id, run_mutation
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


async def _change(
    info: Info[RequestContext, None], payload: type, event: str, work: Any, build_args: Callable[[], tuple[Any, ...]]
) -> Any:
    """Run a service change in its own transaction, publish the event, wrap the row in the payload."""
    context = info.context
    principal = context.require_principal()

    async def run() -> dict[str, Any]:
        row = await context.write(work, principal, *build_args())
        if isinstance(row, models.Contact):
            customer = await context.read(
                lambda session: session.get(models.Customer, (row.tenant_id, row.customer_id))
            )
            await context.publish_customer_event(event, customer, contact_id=row.id)
            return {"contact": Contact.from_model(row)}
        await context.publish_customer_event(event, row)
        return {"customer": Customer.from_model(row)}

    return await run_mutation(run, payload)


def _scoped_tokens_may_have_ended(info: Info[RequestContext, None]) -> None:
    """Scoped tokens naming a deleted customer or contact end: this process checks the tenant's
    credentials again at their next use (other processes within the credential cache window)."""
    principal = info.context.principal
    if principal is not None:
        info.context.runtime.credentials.forget_tenant(principal.tenant_id)


@strawberry.type
class CustomerMutations:
    @strawberry.mutation
    async def create_customer(
        self, info: Info[RequestContext, None], input: CreateCustomerInput
    ) -> CreateCustomerPayload:
        return await _change(
            info, CreateCustomerPayload, "customer.created", service.create_customer,
            lambda: (_customer_data(input),),
        )  # fmt: skip

    @strawberry.mutation(description="Changes the given fields; fails with CONFLICT when `version` is stale.")
    async def update_customer(
        self, info: Info[RequestContext, None], input: UpdateCustomerInput
    ) -> UpdateCustomerPayload:
        raw_id = decode_id(input.id, "Customer")
        return await _change(
            info, UpdateCustomerPayload, "customer.updated", service.update_customer,
            lambda: (raw_id, input.version, _customer_data(input)),
        )  # fmt: skip

    @strawberry.mutation(description="Soft delete: the customer can be restored.")
    async def delete_customer(
        self, info: Info[RequestContext, None], input: DeleteCustomerInput
    ) -> DeleteCustomerPayload:
        raw_id = decode_id(input.id, "Customer")
        payload = await _change(
            info, DeleteCustomerPayload, "customer.deleted", service.delete_customer, lambda: (raw_id, input.version)
        )
        _scoped_tokens_may_have_ended(info)
        return payload

    @strawberry.mutation
    async def restore_customer(
        self, info: Info[RequestContext, None], input: RestoreCustomerInput
    ) -> RestoreCustomerPayload:
        raw_id = decode_id(input.id, "Customer")
        return await _change(
            info, RestoreCustomerPayload, "customer.restored", service.restore_customer, lambda: (raw_id,)
        )

    @strawberry.mutation
    async def create_contact(self, info: Info[RequestContext, None], input: CreateContactInput) -> CreateContactPayload:
        customer_id = decode_id(input.customer_id, "Customer")
        data = provided(input, skip=("customer_id",))
        return await _change(
            info, CreateContactPayload, "contact.created", service.create_contact, lambda: (customer_id, data)
        )

    @strawberry.mutation
    async def update_contact(self, info: Info[RequestContext, None], input: UpdateContactInput) -> UpdateContactPayload:
        raw_id = decode_id(input.id, "Contact")
        data = provided(input, skip=("id", "version"))
        return await _change(
            info, UpdateContactPayload, "contact.updated", service.update_contact, lambda: (raw_id, input.version, data)
        )

    @strawberry.mutation
    async def delete_contact(self, info: Info[RequestContext, None], input: DeleteContactInput) -> DeleteContactPayload:
        raw_id = decode_id(input.id, "Contact")
        payload = await _change(
            info, DeleteContactPayload, "contact.deleted", service.delete_contact, lambda: (raw_id, input.version)
        )
        _scoped_tokens_may_have_ended(info)
        return payload
