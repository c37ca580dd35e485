"""Unit tests of edge/perception/stream."""
