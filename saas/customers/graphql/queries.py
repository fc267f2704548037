"""Customer reads: compiled into one SQL statement each (see saas/schema/compiler.py)."""

from __future__ import annotations

import uuid
from typing import Any

import orjson
import strawberry
from sqlalchemy import select, text
from sqlalchemy.orm import Session
from strawberry.types import Info

from saas.auth.permissions import CUSTOMERS_READ, require
from saas.customers import models
from saas.customers.graphql.loaders import contact_by_id_loader, customer_loader
from saas.customers.graphql.sql import CONTACT, CUSTOMER, CUSTOMER_SORTS
from saas.customers.graphql.types import Contact, Customer, CustomerConnection, CustomerFilterInput, CustomerOrder
from saas.customers.rules import SqlCondition, customer_conditions, customer_visibility
from saas.db.paging import Page
from saas.schema import compiler
from saas.schema.connections import connection
from saas.schema.context import RequestContext, fetch_compiled
from saas.schema.nodes import single_object
from saas.schema.relay import decode_cursor, decode_id, page_size
from saas.tenancy.session import TENANT_PARAM


def _selection(info: Info) -> Any:
    return compiler.merged_selection(list(info._raw_info.field_nodes))


async def customers_connection(
    info: Info[RequestContext, None],
    first: int | None,
    after: str | None,
    filter: CustomerFilterInput | None,
    order_by: CustomerOrder,
) -> orjson.Fragment | CustomerConnection:
    """The page as compiled JSON, or through resolvers when a selected field cannot compile."""
    context = info.context
    principal = context.require_principal()
    require(principal.permissions, CUSTOMERS_READ)
    limit = page_size(first, context.runtime.settings.max_page_size)
    condition = customer_conditions(principal, "r", filter.to_rule() if filter else None)
    sort = CUSTOMER_SORTS[order_by.value]
    params: dict[str, Any] = {**condition.params, "first": limit, "limit": limit + 1, "has_previous": after is not None}
    params[TENANT_PARAM] = principal.tenant_id  # for the resolver path; `fetch_json` binds it for the compiled one
    if after is not None:
        for index, value in enumerate(decode_cursor(after, sort.casts)):
            params[f"after_{index}"] = value
    raw = info._raw_info
    try:
        sql = compiler.compile_cached(
            raw,
            (tuple(condition.parts), order_by.value, after is not None),
            lambda: compiler.connection_sql(
                CUSTOMER, _selection(info), compiler.state_from(raw), condition, sort, after is not None
            ),
        )
    except compiler.NotCompilable:
        return await context.read(_customer_page, condition, sort, params, after is not None)
    json_text = await fetch_compiled(context, sql, params)
    assert json_text is not None  # a connection statement always returns one object
    return orjson.Fragment(json_text)


def _customer_page(
    session: Session, condition: SqlCondition, sort: compiler.SortKey, params: dict[str, Any], has_after: bool
) -> CustomerConnection:
    """The resolver path, for selections with fields computed in Python: same rows, same order."""
    where = compiler.tenant_where("r", condition) + (f" AND {sort.after_sql('r')}" if has_after else "")
    page_sql = f"SELECT r.id FROM customers r WHERE {where} ORDER BY {sort.order_sql('r')} LIMIT :limit"
    ids = [row[0] for row in session.execute(text(page_sql), params)]
    rows = {row.id: row for row in session.scalars(select(models.Customer).where(models.Customer.id.in_(ids)))}
    page = [rows[i] for i in ids]
    total = session.execute(
        text(f"SELECT count(*) FROM customers r WHERE {compiler.tenant_where('r', condition)}"), params
    ).scalar_one()
    return connection(
        Page.of(page, params["first"], total),
        Customer.from_model,
        lambda row: [getattr(row, c) for c in sort.columns],
        has_previous_page=has_after,
    )


async def load_customer(context: RequestContext, raw_id: uuid.UUID) -> Customer | None:
    return await customer_loader(context).load(raw_id)


async def load_contact(context: RequestContext, raw_id: uuid.UUID) -> Contact | None:
    return await contact_by_id_loader(context).load(raw_id)


def customer_condition(context: RequestContext, alias: str = "r") -> SqlCondition:
    principal = context.require_principal()
    require(principal.permissions, CUSTOMERS_READ)
    condition = SqlCondition()
    condition.add(f"{alias}.deleted_at IS NULL")
    customer_visibility(principal, alias, condition)
    return condition


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
