"""A tenant's data as a whole: export to an archive, restore into a new tenant, delete and purge."""
