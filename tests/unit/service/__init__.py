"""Unit tests of edge/service."""
