"""Footage tests of the demo: greetcue demo, live and replays."""
