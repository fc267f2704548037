"""The plugin's services: plain functions of (session, actor, …) run in one transaction each."""
