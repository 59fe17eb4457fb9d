"""Every business rule of the loyalty system; adapters (admin, client, API, CLI) only call these."""
