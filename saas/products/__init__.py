"""The product catalog: what a tenant sells (order lines and plugins refer to it)."""
