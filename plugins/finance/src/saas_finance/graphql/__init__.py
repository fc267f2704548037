"""GraphQL of the finance plugin: types, roots, the live stream and SQL mappings of compiled reads."""
