"""Health: Prometheus metrics, systemd notification, the start-up checks."""
