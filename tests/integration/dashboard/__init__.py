"""Integration tests of the dashboard."""
