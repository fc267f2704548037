"""The imports domain's GraphQL: import jobs, their rows, starting and committing, and live progress."""
