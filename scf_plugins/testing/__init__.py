"""Helpers for testing the host and plugins: an in-memory remote, and the plugin contract suite."""
