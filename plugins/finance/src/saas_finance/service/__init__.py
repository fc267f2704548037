"""Services of the finance plugin: each takes the session and the acting principal."""
