"""The plugin's GraphQL contribution: types, root fields, the live stream, `Customer.financialAccounts`,
and `node(id)` of its Node types compiled to one statement each (with the same visibility as their lists)."""

from __future__ import annotations

from saas.plugin_api import CompiledNode, GraphQLContribution
from saas_finance.graphql import sql, types
from saas_finance.graphql.mutations import FinanceMutations
from saas_finance.graphql.queries import (
    FinanceQueries,
    account_condition,
    instrument_condition,
    loader,
    transaction_condition,
)
from saas_finance.graphql.subscriptions import FinanceSubscriptions
from saas_finance.service import accounts, instruments, ledger

contribution = GraphQLContribution(
    types=types.TYPES,
    queries=(FinanceQueries,),
    mutations=(FinanceMutations,),
    subscriptions=(FinanceSubscriptions,),
    type_fields={"Customer": (types.FinanceCustomerFields,)},
    sql_fields={"Customer": sql.CUSTOMER_FIELDS},
    compiled_nodes={
        "FinInstrument": CompiledNode(
            sql.INSTRUMENT, instrument_condition, loader(instruments.get_instrument, types.Instrument.from_model)
        ),
        "FinAccount": CompiledNode(
            sql.ACCOUNT, account_condition, loader(accounts.get_account, types.Account.from_model)
        ),
        "FinTransaction": CompiledNode(
            sql.TRANSACTION, transaction_condition, loader(ledger.get_transaction, types.Transaction.from_model)
        ),
    },
)
