"""Accounts: login, the caller, members, API keys and the audit log."""
