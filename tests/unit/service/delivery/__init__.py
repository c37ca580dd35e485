"""Unit tests of edge/service/delivery."""
