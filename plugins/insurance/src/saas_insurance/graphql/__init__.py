"""GraphQL of the insurance plugin (types `Ins…`)."""
