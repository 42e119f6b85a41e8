"""Development tools (local emulators for tests and the demo). Not used by the Function App."""
