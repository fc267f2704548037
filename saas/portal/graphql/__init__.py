"""The portal's GraphQL: portal accesses, their tokens and revocation."""
