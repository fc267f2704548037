"""DataLoaders of the ORM path: one statement per nested list or object, whatever the page size.

Loaders of records read by id apply the same visibility rules as the compiled reads
(saas/deals/rules.py); loaders of a parent's children (a plan's installments, an order's
lines) need none beyond their parent's, which the caller already sees.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.auth.principal import Principal
from saas.customers import models as customer_models
from saas.customers.rules import SqlCondition
from saas.deals import models, rules
from saas.products.models import Product
from saas.schema.context import RequestContext
from saas.schema.loaders import request_loader

if TYPE_CHECKING:
    from saas.customers.graphql.types import Customer
    from saas.deals.graphql import types
    from saas.products.graphql.types import Product as ProductType

Conditions = Callable[[Principal, str], SqlCondition]


def _visible(query: Any, principal: Principal, model: Any, conditions: Conditions | None) -> Any:
    if conditions is None:
        return query
    condition = conditions(principal, model.__tablename__)
    return query.where(text(condition.sql)).params(**condition.params)


def by_id(
    context: RequestContext, name: str, model: Any, build: Callable[[Any], Any], conditions: Conditions | None
) -> DataLoader[uuid.UUID, Any]:
    """Rows of `model` by id, those `conditions` lets the caller see, built into GraphQL objects."""

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Any]:
        query = _visible(select(model).where(model.id.in_(ids)), context.require_principal(), model, conditions)
        return {row.id: build(row) for row in session.scalars(query)}

    return request_loader(context, f"deals.{name}", batch)


def children(
    context: RequestContext,
    name: str,
    model: Any,
    parent: Any,
    order: tuple[Any, ...],
    build: Callable[[Any], Any],
    conditions: Conditions | None = None,
) -> DataLoader[uuid.UUID, list[Any]]:
    """The rows of `model` under each parent id (`parent` is the column), in `order`."""

    def batch(session: Session, parent_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Any]]:
        query = select(model).where(parent.in_(parent_ids)).order_by(*order)
        found: dict[uuid.UUID, list[Any]] = defaultdict(list)
        for row in session.scalars(_visible(query, context.require_principal(), model, conditions)):
            found[getattr(row, parent.key)].append(build(row))
        return found

    return request_loader(context, f"deals.{name}", batch, missing=list)


def _types() -> Any:
    from saas.deals.graphql import types

    return types


def stage_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.PipelineStage | None]:
    return by_id(context, "stages", models.PipelineStage, _types().PipelineStage.from_model, rules.all_rows)


def opportunity_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.Opportunity | None]:
    return by_id(
        context, "opportunities", models.Opportunity, _types().Opportunity.from_model, rules.opportunity_conditions
    )


def stage_change_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.StageChange | None]:
    return by_id(
        context, "stage_changes", models.StageChange, _types().StageChange.from_model, rules.stage_change_conditions
    )


def contract_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.Contract | None]:
    return by_id(context, "contracts", models.Contract, _types().Contract.from_model, rules.customer_record_conditions)


def order_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.Order | None]:
    return by_id(context, "orders", models.Order, _types().Order.from_model, rules.customer_record_conditions)


def order_line_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.OrderLine | None]:
    return by_id(
        context, "order_lines_by_id", models.OrderLine, _types().OrderLine.from_model, rules.order_line_conditions
    )


def plan_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.PaymentPlan | None]:
    return by_id(
        context, "plans", models.PaymentPlan, _types().PaymentPlan.from_model, rules.customer_record_conditions
    )


def installment_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.Installment | None]:
    return by_id(
        context, "installments_by_id", models.Installment, _types().Installment.from_model, rules.installment_conditions
    )


def payment_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.Payment | None]:
    return by_id(context, "payments_by_id", models.Payment, _types().Payment.from_model, rules.payment_conditions)


def invoice_loader(context: RequestContext) -> DataLoader[uuid.UUID, types.Invoice | None]:
    return by_id(context, "invoices", models.Invoice, _types().Invoice.from_model, rules.customer_record_conditions)


def product_loader(context: RequestContext) -> DataLoader[uuid.UUID, ProductType | None]:
    from saas.products.graphql.types import Product as ProductType

    return by_id(context, "products", Product, ProductType.from_model, None)


def any_customer_loader(context: RequestContext) -> DataLoader[uuid.UUID, Customer | None]:
    """The customer of an opportunity the caller sees (its owner sees whom it is with)."""
    from saas.customers.graphql.types import Customer

    return by_id(context, "customers_of_opportunities", customer_models.Customer, Customer.from_model, None)


def stage_history_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.StageChange]]:
    change = models.StageChange
    return children(
        context,
        "stage_history",
        change,
        change.opportunity_id,
        (change.changed_at, change.id),
        _types().StageChange.from_model,
    )


def order_lines_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.OrderLine]]:
    line = models.OrderLine
    return children(context, "order_lines", line, line.order_id, (line.position,), _types().OrderLine.from_model)


def installments_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.Installment]]:
    item = models.Installment
    return children(context, "installments", item, item.plan_id, (item.position,), _types().Installment.from_model)


def payments_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.Payment]]:
    payment = models.Payment
    return children(
        context,
        "payments",
        payment,
        payment.installment_id,
        (payment.received_on, payment.id),
        _types().Payment.from_model,
    )


def _newest_of_customers(
    context: RequestContext, name: str, model: Any, newest: Any, build: Callable[[Any], Any], conditions: Any = None
) -> DataLoader[uuid.UUID, list[Any]]:
    """A customer's rows of `model` that the caller sees, newest (`newest`, then id) first."""
    return children(
        context, f"customer_{name}", model, model.customer_id, (newest.desc(), model.id.desc()), build, conditions
    )


def customer_opportunities_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.Opportunity]]:
    """A customer's opportunities that the caller sees (a rep: their own)."""
    opp = models.Opportunity
    return _newest_of_customers(
        context, "opportunities", opp, opp.created_at, _types().Opportunity.from_model, rules.opportunity_conditions
    )


def customer_contracts_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.Contract]]:
    contract = models.Contract
    return _newest_of_customers(context, "contracts", contract, contract.created_at, _types().Contract.from_model)


def customer_orders_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.Order]]:
    return _newest_of_customers(context, "orders", models.Order, models.Order.created_at, _types().Order.from_model)


def customer_plans_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.PaymentPlan]]:
    plan = models.PaymentPlan
    return _newest_of_customers(context, "plans", plan, plan.created_at, _types().PaymentPlan.from_model)


def customer_invoices_loader(context: RequestContext) -> DataLoader[uuid.UUID, list[types.Invoice]]:
    invoice = models.Invoice
    return _newest_of_customers(context, "invoices", invoice, invoice.requested_at, _types().Invoice.from_model)


def invoiced_amount_loader(context: RequestContext) -> DataLoader[uuid.UUID, Decimal]:
    """Per contract, the amounts of its invoices that are not rejected."""

    def batch(session: Session, contract_ids: list[uuid.UUID]) -> dict[uuid.UUID, Decimal]:
        invoice = models.Invoice
        rows = session.execute(
            select(invoice.contract_id, func.sum(invoice.amount))
            .where(invoice.contract_id.in_(contract_ids), invoice.status != models.InvoiceStatus.REJECTED.value)
            .group_by(invoice.contract_id)
        )
        return {contract_id: total for contract_id, total in rows}

    return request_loader(context, "deals.invoiced_amounts", batch, missing=lambda: Decimal("0.00"))
