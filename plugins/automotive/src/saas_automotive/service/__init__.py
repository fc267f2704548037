"""The automotive plugin's services: every read and change, with its permission check, input checks and events."""
