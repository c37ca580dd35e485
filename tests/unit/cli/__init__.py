"""Unit tests of edge/cli: packaging by role and the configuration reference."""
