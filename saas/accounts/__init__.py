"""Accounts: users, memberships, API keys and member administration."""
