"""The tickets domain's GraphQL."""
