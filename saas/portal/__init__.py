"""The customer portal: a contact's scoped token for its own customer, issued, listed and revoked by staff."""
