"""Notification channels. Render builds messages as values; a notifier only transports them."""
