"""The knowledge base's GraphQL: articles, their list and search, and their changes."""
