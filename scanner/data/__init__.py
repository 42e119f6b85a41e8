"""Package data: retirements.toml (the built-in retirement catalogue), read via importlib.resources."""
