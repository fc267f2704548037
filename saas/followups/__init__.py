"""Follow-ups: activities, tasks and their reminders, the customer timeline, the public pool."""
