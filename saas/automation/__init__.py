"""Automation rules: "when <event> and <conditions> then <actions>", run by the outbox dispatcher."""
