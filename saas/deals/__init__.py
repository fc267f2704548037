"""The pipeline and what follows a win: stages, opportunities, contracts, orders, payment plans, invoices."""
