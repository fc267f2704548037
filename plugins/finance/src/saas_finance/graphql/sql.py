"""How the plugin's types map to SQL for the compiled reads: `node(id)` and the lists (one statement each).

Decimals are written as JSON strings (`numeric::text`, as the `Decimal` scalar serialises them),
date-times in the API's form. A relation that needs the caller's visibility in Python (an account's
customer, a transaction's account) is left out, so that a selection with it goes through the
resolvers and their loaders. `CUSTOMER_FIELDS` maps the field
the plugin adds to the core `Customer` (`financialAccounts`), so that the core's compiled reads of
customers write it in their one statement.
"""

from __future__ import annotations

from typing import Any

from saas.plugin_api import (
    Principal,
    Relation,
    SortKey,
    SqlCondition,
    SqlType,
    customer_visibility,
    global_id_sql,
    iso_datetime_sql,
    require,
)
from saas_finance.rules import ACCOUNTS_READ


def _decimal(column: str) -> str:
    return f"({column})::text"


CHANGE = "({t}.last_price - {t}.previous_close)"

INSTRUMENT = SqlType(
    name="FinInstrument",
    table="fin_instruments",
    columns={
        "id": global_id_sql("FinInstrument", "{t}.id"),
        "symbol": "{t}.symbol",
        "name": "{t}.name",
        "assetClass": "upper({t}.asset_class)",
        "currency": "{t}.currency",
        "lastPrice": _decimal("{t}.last_price"),
        "lastPriceAt": iso_datetime_sql("{t}.last_price_at"),
        "previousClose": _decimal("{t}.previous_close"),
        "change": _decimal(CHANGE),
        "changePercent": _decimal(f"round({CHANGE} * 100 / {{t}}.previous_close, 2)"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)

ACCOUNT = SqlType(
    name="FinAccount",
    table="fin_accounts",
    columns={
        "id": global_id_sql("FinAccount", "{t}.id"),
        "number": "{t}.number",
        "currency": "{t}.currency",
        "cashBalance": _decimal("{t}.cash_balance"),
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
)

TRANSACTION = SqlType(
    name="FinTransaction",
    table="fin_transactions",
    columns={
        "id": global_id_sql("FinTransaction", "{t}.id"),
        "kind": "upper({t}.kind)",
        "quantity": _decimal("{t}.quantity"),
        "price": _decimal("{t}.price"),
        "amount": _decimal("{t}.amount"),
        "fee": _decimal("{t}.fee"),
        "cashAfter": _decimal("{t}.cash_after"),
        "occurredAt": iso_datetime_sql("{t}.occurred_at"),
        "actor": "{t}.actor",
        "createdAt": iso_datetime_sql("{t}.created_at"),
    },
    relations={
        "instrument": Relation(lambda: INSTRUMENT, "fin_instruments", "{t}.id = {p}.instrument_id"),
    },
)
# An account's ledger, newest first: `occurred_at`, then `seq`, a sequence every tenant shares, so the
# cursor names the row (`[id]`) and the page continues below its position, as `list_transactions`.
TRANSACTION_SORT = SortKey(
    ("occurred_at", "seq"), ("timestamptz", "bigint"), descending=True, cursor_table="fin_transactions"
)

PRICE_POINT = SqlType(
    name="FinPricePoint",
    table="fin_daily_closes",
    columns={
        "on": "to_char({t}.\"on\", 'YYYY-MM-DD')",
        "close": _decimal("{t}.close"),
    },
    interfaces=frozenset(),
)


def _customer_accounts_visible(principal: Principal, alias: str) -> SqlCondition:
    """`Customer.financialAccounts`: the accounts `accounts_of` gives the caller (their customer
    visible and not deleted); without `fin:accounts:read` the resolver answers the refusal."""
    require(principal.permissions, ACCOUNTS_READ)
    visibility = SqlCondition()
    customer_visibility(principal, "vc", visibility)
    condition = SqlCondition()
    condition.add(
        f"EXISTS (SELECT 1 FROM customers vc WHERE vc.tenant_id = {alias}.tenant_id"
        f" AND vc.id = {alias}.customer_id AND vc.deleted_at IS NULL AND {visibility.sql})",
        **visibility.params,
    )
    return condition


# The fields the plugin adds to the core `Customer` (`FinanceCustomerFields`), by number.
CUSTOMER_FIELDS: dict[str, Any] = {
    "financialAccounts": Relation(
        lambda: ACCOUNT,
        "fin_accounts",
        "{t}.customer_id = {p}.id",
        order="{t}.number",
        visible=_customer_accounts_visible,
    ),
}
