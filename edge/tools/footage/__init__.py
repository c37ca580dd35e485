"""Footage: where it lives (local folder or cache), its manifest, pulling and cutting it."""
