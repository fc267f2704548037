"""The transaction ledger: every row is appended in the transaction that moves the account's cash
and holdings, and checked against them there.

A transaction first locks its account's row (`SELECT … FOR UPDATE`), so the transactions of one
account run one after the other however many requests arrive at once: the checks that a sale
does not exceed the units held (INSUFFICIENT_HOLDINGS) and that cash never goes below zero
(INSUFFICIENT_CASH) always read what the previous transaction left. The updates are conditional
as well, and the CHECK constraints of `fin_holdings` and `fin_accounts` are the last wall.
Transactions of an account are recorded in time order (OUT_OF_ORDER otherwise), so the ledger
read in (occurredAt, entry) order is the history the balances went through.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from saas.plugin_api import Page, Principal, UserErrorCode, keyset_page, require
from saas_finance import events
from saas_finance.errors import FinErrorCode, invalid
from saas_finance.models import Account, Holding, Instrument, Transaction, TransactionKind
from saas_finance.rules import ACCOUNTS_READ, ACCOUNTS_WRITE
from saas_finance.service.accounts import get_account, input_account, visible_accounts
from saas_finance.service.common import money, not_found, now
from saas_finance.service.quotes import MAX_CLOCK_SKEW

MAX_AMOUNT = Decimal("1e14")
MAX_QUANTITY = Decimal("1e14")
MAX_PRICE = Decimal("1e12")
TRADES = (TransactionKind.BUY, TransactionKind.SELL)
WITH_INSTRUMENT = (*TRADES, TransactionKind.DIVIDEND)


def cash_effect(kind: str, amount: Decimal, fee: Decimal) -> Decimal:
    """What a row does to the account's cash: inflows less the fee, outflows plus the fee."""
    if kind in (TransactionKind.SELL, TransactionKind.DEPOSIT, TransactionKind.DIVIDEND):
        return amount - fee
    return -(amount + fee)


def _decimal(field: str, value: Decimal | None, limit: Decimal, places: int, *, positive: bool = True) -> Decimal:
    if value is None:
        raise invalid(["input", field], UserErrorCode.REQUIRED, f"{field} is required for this kind")
    if not value.is_finite() or value < 0 or (positive and value == 0) or value >= limit:
        bound = "above" if positive else "at least"
        raise invalid(["input", field], UserErrorCode.INVALID, f"{field} must be {bound} 0 and below {limit}")
    step = Decimal(1).scaleb(-places)
    if value != value.quantize(step):
        raise invalid(["input", field], UserErrorCode.INVALID, f"{field} has at most {places} decimals")
    return value.quantize(step)  # as the column stores it, so that the payload reads like a later read


def _absent(data: dict[str, Any], *fields: str) -> None:
    for name in fields:
        if data.get(name) is not None:
            raise invalid(["input", name], UserErrorCode.INVALID, f"{name} does not apply to {data['kind'].name}")


def _instrument(session: Session, account: Account, instrument_id: uuid.UUID | None) -> Instrument:
    if instrument_id is None:
        raise invalid(["input", "instrumentId"], UserErrorCode.REQUIRED, "instrumentId is required for this kind")
    instrument = session.get(Instrument, (account.tenant_id, instrument_id))
    if instrument is None:
        raise invalid(["input", "instrumentId"], UserErrorCode.NOT_FOUND, "No such instrument")
    if instrument.currency != account.currency:
        raise invalid(
            ["input", "instrumentId"],
            FinErrorCode.CURRENCY_MISMATCH,
            f"{instrument.symbol} trades in {instrument.currency}, the account holds {account.currency}",
        )
    return instrument


def _checked(session: Session, account: Account, data: dict[str, Any]) -> dict[str, Any]:
    """The row's values from the input, or a user error (nothing written)."""
    kind = TransactionKind(data["kind"])
    fee = _decimal("fee", data.get("fee") or Decimal(0), MAX_AMOUNT, 2, positive=False)
    occurred_at: datetime = data["occurred_at"]
    if occurred_at.tzinfo is None or occurred_at > now() + MAX_CLOCK_SKEW:
        raise invalid(["input", "occurredAt"], UserErrorCode.INVALID, "occurredAt must not be in the future")
    values: dict[str, Any] = {"kind": kind, "fee": fee, "occurred_at": occurred_at, "instrument_id": None}
    if kind in TRADES:
        instrument = _instrument(session, account, data.get("instrument_id"))
        quantity = _decimal("quantity", data.get("quantity"), MAX_QUANTITY, 8)
        price = _decimal("price", data.get("price"), MAX_PRICE, 8)
        amount = money(quantity * price)
        if data.get("amount") is not None and data["amount"] != amount:
            raise invalid(["input", "amount"], UserErrorCode.INVALID, f"amount must be quantity * price ({amount})")
        values |= {"instrument_id": instrument.id, "quantity": quantity, "price": price, "amount": amount}
    else:
        _absent(data, "quantity", "price")
        if kind == TransactionKind.DIVIDEND:
            values["instrument_id"] = _instrument(session, account, data.get("instrument_id")).id
        else:
            _absent(data, "instrument_id")
        values["amount"] = _decimal("amount", data.get("amount"), MAX_AMOUNT, 2)
    return values


def _last_occurred_at(session: Session, account_id: uuid.UUID) -> datetime | None:
    return session.scalar(select(func.max(Transaction.occurred_at)).where(Transaction.account_id == account_id))


def _move_units(session: Session, account: Account, instrument_id: uuid.UUID, delta: Decimal) -> bool:
    """Add `delta` units (negative: take them if held); False, and nothing changed, if too few are held."""
    statement: Any
    if delta > 0:
        statement = (
            insert(Holding)
            .values(tenant_id=account.tenant_id, account_id=account.id, instrument_id=instrument_id, quantity=delta)
            .on_conflict_do_update(
                index_elements=[Holding.tenant_id, Holding.account_id, Holding.instrument_id],
                set_={"quantity": Holding.quantity + delta},
            )
            .returning(Holding.quantity)
        )
    else:
        statement = (
            update(Holding)
            .where(
                Holding.account_id == account.id,
                Holding.instrument_id == instrument_id,
                Holding.quantity + delta >= 0,
            )
            .values(quantity=Holding.quantity + delta)
            .returning(Holding.quantity)
            .execution_options(synchronize_session=False)
        )
    return session.execute(statement).first() is not None


def _move_cash(session: Session, account: Account, delta: Decimal) -> Decimal | None:
    """Add `delta` to the cash balance if it stays at or above zero; the new balance, or None."""
    statement = (
        update(Account)
        .where(Account.id == account.id, Account.cash_balance + delta >= 0)
        .values(cash_balance=Account.cash_balance + delta)
        .returning(Account.cash_balance)
        .execution_options(synchronize_session=False)
    )
    return session.scalar(statement)


def record_transaction(
    session: Session, principal: Principal, account_id: uuid.UUID, data: dict[str, Any]
) -> tuple[Transaction, Account]:
    """Append one row and move the account's cash and units with it, or refuse it whole."""
    require(principal.permissions, ACCOUNTS_WRITE)
    account = input_account(session, principal, account_id, lock=True)
    values = _checked(session, account, data)
    last = _last_occurred_at(session, account.id)
    if last is not None and values["occurred_at"] < last:
        raise invalid(
            ["input", "occurredAt"],
            FinErrorCode.OUT_OF_ORDER,
            f"The account's last transaction is of {last.isoformat()}; record transactions in time order",
        )
    kind = values["kind"]
    if kind in TRADES:
        delta = values["quantity"] if kind == TransactionKind.BUY else -values["quantity"]
        if not _move_units(session, account, values["instrument_id"], delta):
            held = session.scalar(
                select(Holding.quantity).where(
                    Holding.account_id == account.id, Holding.instrument_id == values["instrument_id"]
                )
            )
            raise invalid(
                ["input", "quantity"],
                FinErrorCode.INSUFFICIENT_HOLDINGS,
                f"Only {held or 0} units held, {values['quantity']} to sell",
            )
    cash = _move_cash(session, account, cash_effect(kind, values["amount"], values["fee"]))
    if cash is None:
        raise invalid(
            ["input", "amount"],
            FinErrorCode.INSUFFICIENT_CASH,
            f"Only {account.cash_balance} {account.currency} in cash",
        )
    row = Transaction(id=uuid.uuid4(), account_id=account.id, cash_after=cash, actor=principal.label[:200], **values)
    session.add(row)
    session.flush()
    account.cash_balance = cash
    events.transaction_recorded(session, row, account)
    return row, account


@dataclass(frozen=True)
class TransactionFilter:
    kind: str | None = None
    instrument_id: uuid.UUID | None = None
    start: datetime | None = None
    end: datetime | None = None


def list_transactions(
    session: Session,
    principal: Principal,
    account_id: uuid.UUID,
    flt: TransactionFilter,
    limit: int,
    after: list[Any] | None,
) -> Page:
    """The account's ledger, newest first (occurredAt, then entry order). A cursor names a row
    (`[id]`), never the entry sequence shared by every tenant; the page continues below that
    row's position, read in the same statement. An id this tenant cannot see gives an empty page."""
    account = get_account(session, principal, account_id)
    query = select(Transaction).where(Transaction.account_id == account.id)
    if flt.kind is not None:
        query = query.where(Transaction.kind == flt.kind)
    if flt.instrument_id is not None:
        query = query.where(Transaction.instrument_id == flt.instrument_id)
    if flt.start is not None:
        query = query.where(Transaction.occurred_at >= flt.start)
    if flt.end is not None:
        query = query.where(Transaction.occurred_at <= flt.end)
    position = None
    if after is not None:
        cursor_row = select(Transaction).where(Transaction.id == after[0]).subquery()
        position = [select(cursor_row.c.occurred_at).scalar_subquery(), select(cursor_row.c.seq).scalar_subquery()]
    return keyset_page(
        session, query, (Transaction.occurred_at, Transaction.seq), limit, position, descending=True, count=False
    )


def get_transaction(session: Session, principal: Principal, transaction_id: uuid.UUID) -> Transaction:
    """One row of an account the caller sees, else NOT_FOUND."""
    require(principal.permissions, ACCOUNTS_READ)
    visible = select(Account.id).where(visible_accounts(principal))
    row = session.scalars(
        select(Transaction).where(Transaction.id == transaction_id, Transaction.account_id.in_(visible))
    ).first()
    if row is None:
        raise not_found("Transaction", transaction_id)
    return row


def account_history(session: Session, account_id: uuid.UUID) -> list[Transaction]:
    """Every row of the account in ledger order (the caller checked the account)."""
    query = select(Transaction).where(Transaction.account_id == account_id)
    return list(session.scalars(query.order_by(Transaction.occurred_at, Transaction.seq)))
