"""Footage tests of edge/service: greetcue run and the zones on real footage."""
