"""Integration tests of edge/cli's benches."""
