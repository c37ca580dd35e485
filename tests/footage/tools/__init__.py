"""Footage tests of edge/tools."""
