"""Unit tests of edge/perception/tracking."""
