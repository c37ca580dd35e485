"""The demo: the replays on real footage, the service on a clip, and a simulated staff member."""
