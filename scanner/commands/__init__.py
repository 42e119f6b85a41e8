"""One module per CLI command; see scanner/cli.py."""
