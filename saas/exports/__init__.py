"""Exports of customers, contacts, leads, opportunities and tickets to CSV or XLSX, as background jobs."""
