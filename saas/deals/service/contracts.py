"""Contracts from won opportunities, and orders of catalog products."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from saas.auth.permissions import DEALS_WRITE, require
from saas.auth.principal import Principal
from saas.deals import rules
from saas.deals.errors import DealErrorCode
from saas.deals.graphql.types import Contract as ContractType
from saas.deals.graphql.types import Order as OrderType
from saas.deals.graphql.types import OrderLine as OrderLineType
from saas.deals.models import Contract, Opportunity, OpportunityStatus, Order, OrderLine
from saas.deals.service.common import check_amount, check_currency, check_date, flush, invalid, record, require_visible
from saas.deals.service.pipeline import _visible_customer
from saas.errors import FieldError, UserErrorCode
from saas.events.payloads import api_object, node_ref
from saas.money import parse_amount
from saas.products.models import Product
from saas.validation import Checker

MAX_LINES = 100
MAX_QUANTITY = 1_000_000
MAX_ORDER_TOTAL = Decimal("99999999999999.99")


def _number_taken() -> FieldError:
    return FieldError(["input", "number"], UserErrorCode.TAKEN, "Another contract has this number")


def contract_payload(row: Contract) -> dict[str, Any]:
    return {
        "contract": api_object(
            ContractType.from_model(row),
            customer=node_ref("Customer", row.customer_id),
            opportunity=node_ref("Opportunity", row.opportunity_id),
        )
    }


def create_contract(session: Session, principal: Principal, data: dict[str, Any]) -> Contract:
    """A contract for a WON opportunity the caller sees, in its currency; numbers are unique per tenant."""
    require(principal.permissions, DEALS_WRITE)
    check = Checker(data)
    check.text("number", required=True, max_length=50)
    check_amount(check, "amount")
    check_currency(check)
    check_date(check, "starts_on", required=True)
    check_date(check, "ends_on")
    clean = check.done()
    starts_on: date = clean["starts_on"]
    if clean.get("ends_on") is not None and clean["ends_on"] < starts_on:
        raise invalid(["endsOn"], UserErrorCode.INVALID, "endsOn must not be before startsOn")
    opportunity: Opportunity = require_visible(
        session, principal, Opportunity, data.get("opportunity_id"), rules.opportunity_conditions, "opportunityId"
    )
    if opportunity.status != OpportunityStatus.WON.value:
        raise invalid(["opportunityId"], DealErrorCode.NOT_WON, "Only a won opportunity gets a contract")
    if clean["currency"] != opportunity.currency:
        raise invalid(["currency"], DealErrorCode.CURRENCY_MISMATCH, f"The opportunity is in {opportunity.currency}")
    if session.scalar(select(Contract.id).where(Contract.number == clean["number"])) is not None:
        raise invalid(["number"], UserErrorCode.TAKEN, "Another contract has this number")
    contract = Contract(
        id=uuid.uuid4(),
        opportunity_id=opportunity.id,
        customer_id=opportunity.customer_id,
        created_by_id=principal.membership_id,
        **clean,
    )
    session.add(contract)
    flush(session, {"uq_contracts_tenant_number": _number_taken()})
    session.refresh(contract)
    record(session, principal, "contract.created", contract, None, contract_payload(contract))
    return contract


def _check_lines(lines: Any) -> list[dict[str, Any]]:
    if not lines:
        raise invalid(["lines"], UserErrorCode.REQUIRED, "An order needs at least one line")
    if len(lines) > MAX_LINES:
        raise invalid(["lines"], UserErrorCode.INVALID, f"An order has at most {MAX_LINES} lines")
    errors: list[FieldError] = []
    clean: list[dict[str, Any]] = []
    for index, line in enumerate(lines):
        quantity = line.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
            errors.append(
                FieldError(
                    ["input", "lines", str(index), "quantity"],
                    UserErrorCode.INVALID,
                    f"quantity must be a whole number from 1 to {MAX_QUANTITY}",
                )
            )
        unit_price = line.get("unit_price")
        if unit_price is not None:
            try:
                unit_price = parse_amount(unit_price)
            except ValueError as exc:
                errors.append(
                    FieldError(["input", "lines", str(index), "unitPrice"], UserErrorCode.INVALID, f"unitPrice {exc}")
                )
        clean.append({"product_id": line.get("product_id"), "quantity": quantity, "unit_price": unit_price})
    if errors:
        from saas.errors import InputInvalid

        raise InputInvalid(errors)
    return clean


def create_order(session: Session, principal: Principal, data: dict[str, Any]) -> Order:
    """An order of a customer the caller sees, lines from the catalog (active products, one currency:
    the contract's when one is named). A line's unit price defaults to the product's price; the
    total is the exact sum of quantity x unit price."""
    require(principal.permissions, DEALS_WRITE)
    lines = _check_lines(data.get("lines"))
    customer = _visible_customer(session, principal, data.get("customer_id"), "customerId")
    contract: Contract | None = None
    if data.get("contract_id") is not None:
        contract = require_visible(
            session, principal, Contract, data["contract_id"], rules.customer_record_conditions, "contractId"
        )
        if contract.customer_id != customer.id:
            raise invalid(["contractId"], UserErrorCode.INVALID, "The contract is another customer's")
    product_ids = {line["product_id"] for line in lines if line["product_id"] is not None}
    products = {p.id: p for p in session.scalars(select(Product).where(Product.id.in_(product_ids)))}
    errors: list[FieldError] = []
    currency = contract.currency if contract is not None else None
    rows: list[OrderLine] = []
    total = Decimal("0.00")
    for index, line in enumerate(lines):
        path = ["input", "lines", str(index), "productId"]
        product = products.get(line["product_id"])
        if product is None:
            errors.append(FieldError(path, UserErrorCode.NOT_FOUND, "No such product"))
            continue
        if not product.active:
            errors.append(FieldError(path, UserErrorCode.INVALID, f"{product.name} is not sold any more"))
            continue
        if currency is None:
            currency = product.currency
        if product.currency != currency:
            errors.append(
                FieldError(path, DealErrorCode.CURRENCY_MISMATCH, f"{product.name} is priced in {product.currency}, "
                           f"the order in {currency}")
            )  # fmt: skip
            continue
        unit_price = line["unit_price"] if line["unit_price"] is not None else product.unit_price
        amount = unit_price * line["quantity"]
        total += amount
        rows.append(
            OrderLine(
                id=uuid.uuid4(),
                position=index + 1,
                product_id=product.id,
                quantity=line["quantity"],
                unit_price=unit_price,
                amount=amount,
            )
        )
    if errors:
        from saas.errors import InputInvalid

        raise InputInvalid(errors)
    if total > MAX_ORDER_TOTAL:
        raise invalid(["lines"], UserErrorCode.INVALID, f"The order's total must be at most {MAX_ORDER_TOTAL}")
    assert currency is not None
    order = Order(
        id=uuid.uuid4(),
        customer_id=customer.id,
        contract_id=contract.id if contract else None,
        currency=currency,
        total=total,
        created_by_id=principal.membership_id,
    )
    session.add(order)
    session.flush()
    for row in rows:
        row.order_id = order.id
        session.add(row)
    flush(session)
    session.refresh(order)
    payload = api_object(
        OrderType.from_model(order),
        customer=node_ref("Customer", order.customer_id),
        contract=node_ref("Contract", order.contract_id),
        lines=[api_object(OrderLineType.from_model(row), product=node_ref("Product", row.product_id)) for row in rows],
    )
    record(session, principal, "order.created", order, None, {"order": payload})
    return order
