"""One module per CLI command; each registers its own subparser."""
