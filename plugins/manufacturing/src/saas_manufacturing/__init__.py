"""The manufacturing plugin: real-time inventory, customer self-service ordering, direct shipments.

Registered under the entry point group `saas.plugins` as `manufacturing` (see `hooks.py`);
it imports from `saas` only what `saas.plugin_api` exports.
"""

NAME = "manufacturing"
__version__ = "1.0.0"
