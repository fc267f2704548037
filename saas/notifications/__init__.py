"""Notifications to members: stored, listed, and streamed live by the `notifications` subscription."""
