"""Unit tests of edge/tools."""
