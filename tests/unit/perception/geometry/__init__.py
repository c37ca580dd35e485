"""Unit tests of edge/perception/geometry."""
