"""Delivery: everything the edge sends leaves through the dispatcher, over the outbox and the
MQTT link (events, state, device cues, discovery, metrics), and to the GPIO outputs."""
