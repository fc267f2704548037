"""The work orders domain's GraphQL: the technicians' calendar and work orders' lifecycle."""
