"""Unit tests of edge/perception."""
