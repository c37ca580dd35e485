"""Footage tests of the replays: greetcue detect and greetcue track."""
