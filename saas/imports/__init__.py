"""Data import: customers, contacts and leads from CSV or XLSX, with a dry run, a commit as previewed, and progress."""
