"""The insurance plugin: policies, credibility-rated quotes, claims, loss statistics, churn risk, cross-sell.

Registered under the entry point group `saas.plugins` as `insurance` (see `hooks.py`); it
imports from `saas` only what `saas.plugin_api` exports.
"""

NAME = "insurance"
__version__ = "1.0.0"
