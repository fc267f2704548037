"""After-sales service: tickets, their types, classification rules, agents' skills and SLA policies."""
