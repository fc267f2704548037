"""Database foundations: declarative base, engines, and the row-level security helpers."""
