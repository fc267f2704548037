"""Returns: a customer sends back ordered goods; requested, approved, received, refunded (or rejected)."""
