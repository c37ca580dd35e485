"""Integration tests of edge/service."""
