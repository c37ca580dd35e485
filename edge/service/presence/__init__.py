"""Presence: each person's visit and rings (debounced), and the zone decisions they make."""
