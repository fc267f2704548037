"""Customer reads: compiled into one SQL statement each (see saas/schema/compiler.py)."""

from __future__ import annotations

from typing import Any

import orjson
import strawberry
from strawberry.types import Info

from saas.auth.permissions import CUSTOMERS_READ, require
from saas.customers.rules import SqlCondition, customer_conditions, customer_visibility
from saas.errors import NotFoundError
from saas.schema import compiler
from saas.schema.context import fetch_compiled
from saas.schema.customers.filters import CustomerFilterInput, CustomerOrder
from saas.schema.customers.sql import CONTACT, CUSTOMER, CUSTOMER_SORTS
from saas.schema.customers.types import Contact, Customer, CustomerConnection
from saas.schema.relay import decode_cursor, decode_id, page_size
from saas.schema.context import RequestContext



def _selection(info: Info) -> Any:
    return compiler.merged_selection(list(info._raw_info.field_nodes))


async def customers_connection(
    info: Info[RequestContext, None],
    first: int | None,
    after: str | None,
    filter: CustomerFilterInput | None,
    order_by: CustomerOrder,
) -> orjson.Fragment:
    context = info.context
    principal = context.require_principal()
    require(principal.permissions, CUSTOMERS_READ)
    limit = page_size(first, context.runtime.settings.max_page_size)
    condition = customer_conditions(principal, "r", filter.to_rule() if filter else None)
    sort = CUSTOMER_SORTS[order_by.value]
    params: dict[str, Any] = {**condition.params, "first": limit, "limit": limit + 1, "has_previous": after is not None}
    if after is not None:
        for index, value in enumerate(decode_cursor(after, len(sort.columns))):
            params[f"after_{index}"] = value
    raw = info._raw_info
    sql = compiler.compile_cached(
        raw,
        (tuple(condition.parts), order_by.value, after is not None),
        lambda: compiler.connection_sql(CUSTOMER, _selection(info), compiler.state_from(raw), condition, sort, after is not None),
    )
    return orjson.Fragment(await fetch_compiled(context, sql, params))


async def single_object(info: Info[RequestContext, None], sql_type: compiler.SqlType, raw_id: Any, condition: SqlCondition) -> orjson.Fragment:
    condition.add("r.id = :object_id", object_id=raw_id)
    raw = info._raw_info
    sql = compiler.compile_cached(
        raw,
        (sql_type.name, tuple(condition.parts)),
        lambda: compiler.single_sql(sql_type, _selection(info), compiler.state_from(raw), condition),
    )
    text = await fetch_compiled(info.context, sql, condition.params)
    if text is None or text == "null":
        raise NotFoundError(f"{sql_type.name} not found")
    return orjson.Fragment(text)


def customer_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    principal = context.require_principal()
    require(principal.permissions, CUSTOMERS_READ)
    condition = SqlCondition()
    condition.add(f"{alias}.tenant_id = :tenant_id", tenant_id=principal.tenant_id)
    condition.add(f"{alias}.deleted_at IS NULL")
    customer_visibility(principal, alias, condition)
    return condition


def contact_condition(context: RequestContext) -> SqlCondition:
    """A contact is visible when its customer is."""
    customer = customer_condition(context, "c")
    condition = SqlCondition()
    condition.add("r.tenant_id = :tenant_id", tenant_id=customer.params["tenant_id"])
    condition.add("r.deleted_at IS NULL")
    condition.add(
        f"EXISTS (SELECT 1 FROM customers c WHERE c.id = r.customer_id AND {customer.sql})", **customer.params
    )
    return condition


@strawberry.type
class CustomerQueries:
    @strawberry.field(description="Customers visible to the caller, as a Relay connection (keyset-paged; `first` at most 100).")
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
        return await single_object(info, CUSTOMER, raw_id, customer_condition(info.context))  # type: ignore[return-value]

    @strawberry.field(description="One contact; NOT_FOUND if it does not exist or is not visible.")
    async def contact(self, info: Info[RequestContext, None], id: strawberry.ID) -> Contact:
        raw_id = decode_id(id, "Contact")
        return await single_object(info, CONTACT, raw_id, contact_condition(info.context))  # type: ignore[return-value]
