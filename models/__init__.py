"""Model manifest and model cards; weights live in a cache, never in git."""
