"""The automotive plugin: vehicles, JIT supplier call-offs, freight tracking, service and sales reminders.

Registered under the entry point group `saas.plugins` as `automotive` (see `hooks.py`);
it imports from `saas` only what `saas.plugin_api` exports.
"""

NAME = "automotive"
__version__ = "1.0.0"
