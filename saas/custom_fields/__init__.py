"""Custom fields: per-tenant field definitions for customers, contacts, leads and opportunities."""
