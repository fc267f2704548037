"""Sales teams: a manager and members; managers see their members' records."""
