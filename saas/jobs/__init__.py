"""Background jobs on dramatiq: every message carries its tenant and runs in a session bound to it."""
