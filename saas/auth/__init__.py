"""Authentication (passwords, tokens, the API key format, the principal and its cache) and
authorisation (roles and permissions); reads no account rows (that is `saas.accounts`)."""
