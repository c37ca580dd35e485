"""Prometheus ``/metrics``: ingest rate, refused messages by kind, lag, queue (messages and
bytes), whether the ingest is alive, streams."""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import FastAPI, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector


class IngestCollector(Collector):
    """Reads the app's ingest figures at scrape time (no per-message metric updates)."""

    def __init__(self, app: FastAPI) -> None:
        self._app = app

    def collect(self) -> Iterator[Metric]:
        """The current figures."""
        ingest = self._app.state.ingest
        if ingest is None:
            return
        stats = ingest.stats
        yield CounterMetricFamily(
            "greetcue_dashboard_received", "MQTT messages received", value=stats.received
        )
        yield CounterMetricFamily(
            "greetcue_dashboard_stored", "events stored (new ids)", value=stats.stored
        )
        yield CounterMetricFamily(
            "greetcue_dashboard_duplicates",
            "events received again (same id), not stored twice",
            value=stats.duplicates,
        )
        refused = CounterMetricFamily(
            "greetcue_dashboard_refused", "messages refused, by kind", labels=["kind"]
        )
        for kind, count in sorted(stats.refused.items()):
            refused.add_metric([kind], count)
        yield refused
        yield GaugeMetricFamily(
            "greetcue_dashboard_lag_seconds",
            "received minus published, newest stored event",
            value=stats.lag_s if stats.lag_s is not None else float("nan"),
        )
        yield GaugeMetricFamily(
            "greetcue_dashboard_queue", "messages waiting to be stored", value=stats.queued
        )
        yield GaugeMetricFamily(
            "greetcue_dashboard_queue_bytes",
            "payload bytes held until stored (bounded by ingest_queue_bytes)",
            value=stats.queued_bytes,
        )
        yield GaugeMetricFamily(
            "greetcue_dashboard_ingest_alive",
            "1 while the ingest writer runs and makes progress (0: see /healthz for why)",
            value=1.0 if ingest.alive else 0.0,
        )
        yield GaugeMetricFamily(
            "greetcue_dashboard_broker_connected",
            "1 when connected",
            value=1.0 if stats.connected else 0.0,
        )
        yield GaugeMetricFamily(
            "greetcue_dashboard_live_streams",
            "open live page streams",
            value=self._app.state.hub.listeners(),
        )


def metrics_route(app: FastAPI, collector: IngestCollector) -> None:
    """Serve ``collector`` on ``/metrics`` from a registry of this app's own."""
    registry = CollectorRegistry()
    registry.register(collector)

    @app.get("/metrics", include_in_schema=False)
    def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
