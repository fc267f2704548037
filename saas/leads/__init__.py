"""Leads, channels, the lead pool and the tenant's sales settings."""
