"""The domain events the plugin emits (outbox → plugins' `saas_handle_event` and webhooks), and their data.

Every create and every ledger row emits one of these, in the transaction of the change. The data
carries the entities as the plugin's GraphQL API returns them (`api_object` of the `Fin…` types),
so a webhook receiver reads what a client reads. A quote batch emits one summary event (quotes
arrive by the thousand; a client that wants each price subscribes to `quotesUpdated`).
Payload builders import the GraphQL types when called: the types import the services.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from sqlalchemy.orm import Session

from saas.plugin_api import api_object, emit_event

if TYPE_CHECKING:
    from saas_finance import models

INSTRUMENT_CREATED = "fin.instrument.created"
QUOTES_INGESTED = "fin.quotes.ingested"
ACCOUNT_OPENED = "fin.account.opened"
TRANSACTION_RECORDED = "fin.transaction.recorded"
TARGETS_SET = "fin.targets.set"
MAX_SYMBOLS_IN_EVENT = 100

# Declared through `saas_event_types`; docs/api.md documents each with an example.
EVENT_TYPES = [INSTRUMENT_CREATED, QUOTES_INGESTED, ACCOUNT_OPENED, TRANSACTION_RECORDED, TARGETS_SET]


def instrument_created(session: Session, instrument: models.Instrument) -> None:
    from saas_finance.graphql.types import Instrument

    emit_event(session, INSTRUMENT_CREATED, {"instrument": api_object(Instrument.from_model(instrument))})


def quotes_ingested(session: Session, accepted: int, rejected: int, symbols: Sequence[str]) -> None:
    """A batch was taken: how many quotes, and the symbols whose last price changed (the first 100)."""
    data = {
        "accepted": accepted,
        "rejected": rejected,
        "updatedSymbols": list(symbols[:MAX_SYMBOLS_IN_EVENT]),
        "updatedCount": len(symbols),
    }
    emit_event(session, QUOTES_INGESTED, data)


def account_opened(session: Session, account: models.Account) -> None:
    from saas_finance.graphql.types import Account

    emit_event(session, ACCOUNT_OPENED, {"account": api_object(Account.from_model(account))})


def transaction_recorded(session: Session, row: models.Transaction, account: models.Account) -> None:
    from saas_finance.graphql.types import Account, Transaction

    data = {
        "transaction": api_object(Transaction.from_model(row)),
        "account": api_object(Account.from_model(account)),
    }
    emit_event(session, TRANSACTION_RECORDED, data)


def targets_set(session: Session, account: models.Account, rows: Sequence[models.TargetWeight]) -> None:
    from saas_finance.graphql.types import Account, TargetWeight

    data = {
        "account": api_object(Account.from_model(account)),
        "targets": [api_object(TargetWeight.from_model(row)) for row in rows],
    }
    emit_event(session, TARGETS_SET, data)
