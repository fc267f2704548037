"""GraphQL of the tenant's data export: `exportTenantData`, `tenantExport`, `tenantExportProgress`."""
