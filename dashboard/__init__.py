"""greetcue dashboard: MQTT ingest -> store -> analytics -> manager pages, staff page, API.

It meets the edge only through ``edge.contract`` and MQTT."""
