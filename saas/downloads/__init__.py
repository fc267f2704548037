"""Files the tenant's own jobs produced (exports), kept for a limited time and downloadable once
through a signed link: `saas.downloads.service`."""
