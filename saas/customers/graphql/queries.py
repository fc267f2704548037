"""Customer reads: compiled into one SQL statement each (see saas/schema/compiler.py)."""

from __future__ import annotations

import dataclasses
import uuid

import orjson
import strawberry
from strawberry.types import Info

from saas.auth.permissions import CUSTOMERS_READ, require
from saas.customers import models
from saas.customers.graphql.loaders import contact_by_id_loader, customer_loader
from saas.customers.graphql.sql import CONTACT, CUSTOMER, CUSTOMER_SORTS
from saas.customers.graphql.types import Contact, Customer, CustomerConnection, CustomerFilterInput, CustomerOrder
from saas.customers.rules import SqlCondition, customer_conditions
from saas.schema.compiled import compiled_page
from saas.schema.context import RequestContext
from saas.schema.nodes import single_object
from saas.schema.relay import decode_id
from saas.sensitive.search import with_blind_index


async def customers_connection(
    info: Info[RequestContext, None],
    first: int | None,
    after: str | None,
    filter: CustomerFilterInput | None,
    order_by: CustomerOrder,
) -> orjson.Fragment | CustomerConnection:
    """The page as compiled JSON, or through resolvers when a selected field cannot compile."""
    principal = info.context.require_principal()
    require(principal.permissions, CUSTOMERS_READ)
    rule = filter.to_rule() if filter else None
    if rule is not None and rule.custom_field is not None:
        searched = await with_blind_index(info.context, rule.custom_field, "customers")
        rule = dataclasses.replace(rule, custom_field=searched)
    condition = customer_conditions(principal, "r", rule)
    sort = CUSTOMER_SORTS[order_by.value]
    return await compiled_page(  # type: ignore[no-any-return]
        info, CUSTOMER, models.Customer, Customer.from_model, condition, sort, first, after
    )


async def load_customer(context: RequestContext, raw_id: uuid.UUID) -> Customer | None:
    return await customer_loader(context).load(raw_id)


async def load_contact(context: RequestContext, raw_id: uuid.UUID) -> Contact | None:
    return await contact_by_id_loader(context).load(raw_id)


def customer_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    principal = context.require_principal()
    require(principal.permissions, CUSTOMERS_READ)
    return customer_conditions(principal, alias, None)


def contact_condition(context: RequestContext) -> SqlCondition:
    """A contact is visible when its customer is."""
    customer = customer_condition(context, "c")
    condition = SqlCondition()
    condition.add("r.deleted_at IS NULL")
    condition.add(
        f"EXISTS (SELECT 1 FROM customers c WHERE c.tenant_id = r.tenant_id AND c.id = r.customer_id AND {customer.sql})",
        **customer.params,
    )
    return condition


@strawberry.type
class CustomerQueries:
    @strawberry.field(
        description="Customers visible to the caller, as a Relay connection (keyset-paged; `first` at most 100)."
    )
    async def customers(
        self,
        info: Info[RequestContext, None],
        first: int | None = 20,
        after: str | None = None,
        filter: CustomerFilterInput | None = None,
        order_by: CustomerOrder = CustomerOrder.NAME_ASC,
    ) -> CustomerConnection:
        return await customers_connection(info, first, after, filter, order_by)  # type: ignore[return-value]

    @strawberry.field(description="One customer; NOT_FOUND if it does not exist or is not visible.")
    async def customer(self, info: Info[RequestContext, None], id: strawberry.ID) -> Customer:
        raw_id = decode_id(id, "Customer")
        return await single_object(info, CUSTOMER, raw_id, customer_condition(info.context), load_customer)  # type: ignore[no-any-return]

    @strawberry.field(description="One contact; NOT_FOUND if it does not exist or is not visible.")
    async def contact(self, info: Info[RequestContext, None], id: strawberry.ID) -> Contact:
        raw_id = decode_id(id, "Contact")
        return await single_object(info, CONTACT, raw_id, contact_condition(info.context), load_contact)  # type: ignore[no-any-return]
