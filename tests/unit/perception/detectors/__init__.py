"""Unit tests of edge/perception/detectors."""
