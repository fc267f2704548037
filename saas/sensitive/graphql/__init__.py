"""The sensitive fields' GraphQL: marking core fields, and the re-encryption runs."""
