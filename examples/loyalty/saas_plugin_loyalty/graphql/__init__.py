"""Loyalty's GraphQL, shaped like a core domain: contribution, types, loaders, queries, mutations."""
