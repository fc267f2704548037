"""The plugin host: discovery, validation, per-tenant enablement and what plugins contribute."""
