"""A multi-tenant GraphQL CRM backend."""

__version__ = "0.1.0"
