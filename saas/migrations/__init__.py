"""Alembic migrations of the core schema."""
