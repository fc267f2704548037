"""Database foundations: declarative base, engines, paging, the compiled-read round trip and the
migration runner (row-level security is `saas.tenancy.rls`)."""
