"""The insurance services: each takes the tenant-bound session and the acting principal."""
