"""The custom fields domain's GraphQL: definitions, their queries and mutations."""
