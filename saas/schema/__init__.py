"""The GraphQL schema: one folder per domain, each with types, queries, mutations and SQL."""
