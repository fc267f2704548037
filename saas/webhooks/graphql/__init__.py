"""Webhooks: create and delete subscriptions, read the delivery log with its attempts."""
