"""Plugins as a tenant admin sees them: list, enable, configure, disable."""
