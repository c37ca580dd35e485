"""Integration tests of dashboard/store: migrations and stored outcomes."""
