"""Integration tests of edge/service/delivery against a real Mosquitto."""
