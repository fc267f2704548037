"""The returns domain's GraphQL: return requests, their list and their lifecycle."""
