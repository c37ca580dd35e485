"""Integration tests of dashboard/web: access, filters, headers."""
