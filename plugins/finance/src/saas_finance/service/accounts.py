"""Accounts on core customers, seen with the customers' visibility (a sales rep sees the accounts
of the customers they see): every read and write of an account goes through `visible_accounts`."""

from __future__ import annotations

import re
import secrets
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from saas.plugin_api import (
    NotFoundError,
    Principal,
    SqlCondition,
    UserErrorCode,
    customer_visibility,
    get_customer,
    require,
)
from saas_finance import events
from saas_finance.errors import invalid
from saas_finance.models import Account
from saas_finance.rules import ACCOUNTS_READ, ACCOUNTS_WRITE
from saas_finance.service.common import not_found
from saas_finance.service.instruments import check_currency

NUMBER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{0,31}$")


def visible_accounts(principal: Principal) -> Any:
    """The SQL condition on `fin_accounts` of the accounts whose customer the caller sees (and is not deleted)."""
    condition = SqlCondition()
    customer_visibility(principal, "vc", condition)
    sql = (
        "EXISTS (SELECT 1 FROM customers vc WHERE vc.tenant_id = fin_accounts.tenant_id"
        f" AND vc.id = fin_accounts.customer_id AND vc.deleted_at IS NULL AND {condition.sql})"
    )
    return text(sql).bindparams(**condition.params)


def get_account(session: Session, principal: Principal, account_id: uuid.UUID, *, lock: bool = False) -> Account:
    """The account if it exists in the tenant and its customer is visible to the caller, else NOT_FOUND."""
    require(principal.permissions, ACCOUNTS_READ)
    query = select(Account).where(Account.id == account_id, visible_accounts(principal))
    if lock:
        query = query.with_for_update()
    account = session.scalars(query.execution_options(populate_existing=True)).first()
    if account is None:
        raise not_found("Account", account_id)
    return account


def input_account(session: Session, principal: Principal, account_id: uuid.UUID, *, lock: bool = False) -> Account:
    """`get_account` for an id named in a mutation's input: NOT_FOUND on `input.accountId`."""
    try:
        return get_account(session, principal, account_id, lock=lock)
    except NotFoundError:
        raise invalid(["input", "accountId"], UserErrorCode.NOT_FOUND, "No such account") from None


def list_accounts(session: Session, principal: Principal, customer_id: uuid.UUID | None) -> list[Account]:
    """The visible accounts (of one customer when given), by customer and number."""
    require(principal.permissions, ACCOUNTS_READ)
    query = select(Account).where(visible_accounts(principal))
    if customer_id is not None:
        query = query.where(Account.customer_id == customer_id)
    return list(session.scalars(query.order_by(Account.customer_id, Account.number)))


def accounts_of(session: Session, principal: Principal, customer_ids: Sequence[uuid.UUID]) -> dict[Any, list[Account]]:
    """Each customer's visible accounts by number (one statement for a page of customers)."""
    found: dict[Any, list[Account]] = {}
    query = select(Account).where(Account.customer_id.in_(customer_ids), visible_accounts(principal))
    for account in session.scalars(query.order_by(Account.customer_id, Account.number)):
        found.setdefault(account.customer_id, []).append(account)
    return found


def open_account(session: Session, principal: Principal, customer_id: uuid.UUID, data: dict[str, Any]) -> Account:
    """A new account of a visible customer, empty; its number is unique in the tenant (TAKEN)."""
    require(principal.permissions, ACCOUNTS_WRITE)
    try:
        get_customer(session, principal, customer_id)
    except NotFoundError:
        raise invalid(["input", "customerId"], UserErrorCode.NOT_FOUND, "No such customer") from None
    currency = check_currency(["input", "currency"], data["currency"])
    number = data.get("number")
    if number is None:
        number = f"FA-{secrets.token_hex(4).upper()}"
    elif not NUMBER.match(number.strip()):
        code = UserErrorCode.TOO_LONG if len(number) > 32 else UserErrorCode.INVALID
        raise invalid(["input", "number"], code, "A number is 1 to 32 letters, digits and dashes")
    account = Account(id=uuid.uuid4(), number=number.strip(), customer_id=customer_id, currency=currency)
    try:
        with session.begin_nested():
            session.add(account)
            session.flush()
    except IntegrityError:
        raise invalid(["input", "number"], UserErrorCode.TAKEN, "That account number is taken") from None
    session.refresh(account)
    events.account_opened(session, account)
    return account
