"""The edge service, in data order: presence (visits, rings, zone decisions) -> cues (desk,
acks) -> delivery (dispatcher, outbox, MQTT, outputs); health beside them. ``turn`` is one
frame's step with no I/O; ``service`` runs it with the camera and the ``connections``."""
