"""The finance plugin: instruments with live quotes, accounts with an append-only transaction
ledger, portfolio analysis (P&L, returns, risk) and rebalancing.

Registered under the entry point group `saas.plugins` as `finance` (see `hooks.py`); it imports
from `saas` only what `saas.plugin_api` exports.
"""

NAME = "finance"
__version__ = "1.0.0"
