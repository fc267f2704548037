"""The plugin's GraphQL, in the layout of every domain: contribution, types, queries, mutations,
subscriptions, loaders."""
