"""Changing and reading the product catalog: validation, unique SKUs, versions, the audit log, events."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from saas.audit.log import record_change, snapshot
from saas.auth.permissions import PRODUCTS_READ, PRODUCTS_WRITE, require
from saas.auth.principal import Principal
from saas.db.paging import Page, keyset_page
from saas.errors import ConflictError, FieldError, InputInvalid, NotFoundError, UserErrorCode
from saas.events.outbox import emit_event
from saas.events.payloads import api_object
from saas.products.graphql.types import Product as ProductType
from saas.products.models import Product
from saas.products.rules import product_conditions
from saas.validation import Checker, camel_case

SKU_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]*$")
CURRENCY_PATTERN = re.compile(r"^[A-Z]{3}$")
# Numeric(14, 2): twelve digits before the point, two after.
MAX_UNIT_PRICE = Decimal("999999999999.99")
CENT = Decimal("0.01")


def parse_price(value: Any) -> Decimal:
    """A non-negative amount with at most two decimals, as the catalog stores it; ValueError otherwise."""
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation as exc:
        raise ValueError("must be a decimal number, e.g. 19.90") from exc
    if not amount.is_finite() or amount < 0:
        raise ValueError("must be zero or more")
    # Before quantizing: an amount like 1e400 has more digits than the decimal context can round.
    if amount > MAX_UNIT_PRICE:
        raise ValueError(f"must be at most {MAX_UNIT_PRICE}")
    if amount != amount.quantize(CENT):
        raise ValueError("must have at most two decimals")
    return amount.quantize(CENT)


def _check_product(data: dict[str, Any], *, creating: bool) -> dict[str, Any]:
    check = Checker(data)
    check.text("sku", required=creating or "sku" in data, max_length=64)
    sku = check.clean.get("sku")
    if sku is not None and not SKU_PATTERN.match(sku):
        check.clean.pop("sku")
        check.fail("sku", UserErrorCode.INVALID, "sku may contain letters, digits and . _ / - only")
    check.text("name", required=creating or "name" in data, max_length=200)
    check.text("description", max_length=10_000)
    if "unit_price" in data or creating:
        try:
            if data.get("unit_price") is None:
                raise ValueError("is required")
            check.clean["unit_price"] = parse_price(data["unit_price"])
        except ValueError as exc:
            code = UserErrorCode.REQUIRED if data.get("unit_price") is None else UserErrorCode.INVALID
            check.fail("unit_price", code, f"{camel_case('unit_price')} {exc}")
    if data.get("currency") is not None:
        currency = str(data["currency"]).strip().upper()
        if CURRENCY_PATTERN.match(currency):
            check.clean["currency"] = currency
        else:
            check.fail("currency", UserErrorCode.INVALID, "currency must be an ISO 4217 code such as EUR")
    elif "currency" in data and not creating:
        check.fail("currency", UserErrorCode.REQUIRED, "currency must not be null")
    if "active" in data:
        if data["active"] is None:
            check.fail("active", UserErrorCode.REQUIRED, "active must not be null")
        else:
            check.clean["active"] = bool(data["active"])
    return check.done()


def _sku_taken() -> InputInvalid:
    return InputInvalid([FieldError(["input", "sku"], UserErrorCode.TAKEN, "Another product has this sku")])


def _flush_unique(session: Session) -> None:
    """Flush in a savepoint so that a duplicate SKU (a race past the check) is a user error."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        if "uq_products_tenant_sku" in str(exc.orig):
            raise _sku_taken() from None
        raise
    except StaleDataError as exc:
        raise ConflictError() from exc


def _check_sku_free(session: Session, sku: str, product_id: uuid.UUID | None = None) -> None:
    query = select(Product.id).where(Product.sku == sku)
    if product_id is not None:
        query = query.where(Product.id != product_id)
    if session.scalar(query) is not None:
        raise _sku_taken()


def _record(
    session: Session, principal: Principal, action: str, product: Product, before: dict[str, Any] | None
) -> None:
    """The audit entry and the domain event (as the API returns the product) of a change; `action` names both."""
    record_change(session, principal, action, "Product", product.id, before, snapshot(product))
    emit_event(session, action, {"product": api_object(ProductType.from_model(product))})


def get_product(session: Session, principal: Principal, product_id: uuid.UUID) -> Product:
    """The product of the principal's tenant, else NOT_FOUND (another tenant's id included)."""
    require(principal.permissions, PRODUCTS_READ)
    product = session.scalars(select(Product).where(Product.id == product_id)).first()
    if product is None:
        raise NotFoundError("Product not found", id=str(product_id))
    return product


def create_product(session: Session, principal: Principal, data: dict[str, Any]) -> Product:
    require(principal.permissions, PRODUCTS_WRITE)
    clean = _check_product(data, creating=True)
    _check_sku_free(session, clean["sku"])
    product = Product(id=uuid.uuid4(), **clean)
    session.add(product)
    _flush_unique(session)
    session.refresh(product)
    _record(session, principal, "product.created", product, None)
    return product


def update_product(
    session: Session, principal: Principal, product_id: uuid.UUID, version: int, data: dict[str, Any]
) -> Product:
    require(principal.permissions, PRODUCTS_WRITE)
    clean = _check_product(data, creating=False)
    product = get_product(session, principal, product_id)
    if product.version != version:
        raise ConflictError(current_version=product.version)
    if "sku" in clean:
        _check_sku_free(session, clean["sku"], product.id)
    before = snapshot(product)
    for key, value in clean.items():
        setattr(product, key, value)
    product.updated_at = datetime.now(UTC)
    _flush_unique(session)
    _record(session, principal, "product.updated", product, before)
    return product


@dataclass(frozen=True)
class ProductFilter:
    search: str | None = None
    active: bool | None = None


def list_products(
    session: Session, principal: Principal, flt: ProductFilter, limit: int, after: Sequence[Any] | None
) -> Page[Product]:
    """A keyset page ordered by (name, id); two statements whatever the page size."""
    require(principal.permissions, PRODUCTS_READ)
    condition = product_conditions(Product.__tablename__, flt.active, flt.search)  # the compiled read's rule
    query = select(Product).where(text(condition.sql).bindparams(**condition.params))
    return keyset_page(session, query, (Product.name, Product.id), limit, after)
