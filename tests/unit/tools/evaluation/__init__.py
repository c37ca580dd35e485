"""Unit tests of edge/tools/evaluation."""
