"""Domain events through a transactional outbox: written with the change, dispatched after commit."""
