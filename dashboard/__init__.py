"""greetcue dashboard: MQTT ingest, store, analytics and pages (built in later issues)."""
