"""Accounts: tenants, users, memberships, invitations, API keys, login, the credential check and
member administration."""
