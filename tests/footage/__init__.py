"""Tests on the real footage with the real detector weights: accuracy, replays, the service
on a clip."""
