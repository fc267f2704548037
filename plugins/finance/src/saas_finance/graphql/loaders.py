"""Per-request DataLoaders: nested objects and lists load in one statement per level."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.orm import Session
from strawberry.dataloader import DataLoader

from saas.plugin_api import RequestContext, request_loader, require
from saas_finance.models import Account, Instrument
from saas_finance.rules import ACCOUNTS_READ
from saas_finance.service.accounts import accounts_of, visible_accounts


def instruments(context: RequestContext) -> DataLoader[uuid.UUID, Instrument | None]:
    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Instrument]:
        return {row.id: row for row in session.scalars(select(Instrument).where(Instrument.id.in_(ids)))}

    return request_loader(context, "fin.instruments", batch)


def accounts(context: RequestContext) -> DataLoader[uuid.UUID, Account | None]:
    """Accounts by id, those whose customer the caller sees."""

    def batch(session: Session, ids: list[uuid.UUID]) -> dict[uuid.UUID, Account]:
        visible = visible_accounts(context.require_principal())
        return {row.id: row for row in session.scalars(select(Account).where(Account.id.in_(ids), visible))}

    return request_loader(context, "fin.accounts", batch)


def customer_accounts(context: RequestContext) -> DataLoader[uuid.UUID, list[Account]]:
    """Each customer's visible accounts (`Customer.financialAccounts`), one statement per page of customers."""

    def batch(session: Session, customer_ids: list[uuid.UUID]) -> dict[uuid.UUID, list[Account]]:
        principal = context.require_principal()
        require(principal.permissions, ACCOUNTS_READ)
        return accounts_of(session, principal, customer_ids)

    return request_loader(context, "fin.customer_accounts", batch, missing=list)
