"""GraphQL of background jobs: the tenant's dead letters, for its admins."""
