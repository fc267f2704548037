"""Notifications of the caller: listed, marked read, streamed live."""
