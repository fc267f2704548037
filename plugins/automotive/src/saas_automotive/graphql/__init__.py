"""GraphQL of the automotive plugin (types `Auto…`)."""
