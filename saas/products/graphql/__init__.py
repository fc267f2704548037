"""The product catalog's GraphQL: the `Product` type, its queries and mutations."""
