"""The edge service: zones -> cues/acks -> events -> outbox -> MQTT; the loop; metrics."""
