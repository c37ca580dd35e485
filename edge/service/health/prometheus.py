"""The Prometheus series of the service's health figures, made only for a ``/metrics``
endpoint: ``prometheus_client`` brings an HTTP server, urllib and the e-mail parser with it,
1-2 MiB a camera box without an endpoint does not need."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from wsgiref.simple_server import WSGIServer

import numpy as np
import prometheus_client
from numpy.typing import NDArray
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

STAGE_BUCKETS_S = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0)
LATENCY_BUCKETS_S = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
LABELS = ("site", "camera")


class Series:
    """The Prometheus series of one service on a registry of its own, labelled with its site
    and camera."""

    def __init__(self, site: str, camera: str) -> None:
        self.registry = registry = CollectorRegistry()
        labels = {"site": site, "camera": camera}

        def gauge(name: str, doc: str) -> Gauge:
            return Gauge(name, doc, LABELS, registry=registry).labels(**labels)

        def counter(name: str, doc: str) -> Counter:
            return Counter(name, doc, LABELS, registry=registry).labels(**labels)

        self.fps = gauge("greetcue_fps", "Frames per second over the last metrics interval")
        self.camera_online = gauge("greetcue_camera_online", "1 while the camera delivers")
        self.people = gauge("greetcue_people", "People tracked now")
        self.outbox_depth = gauge("greetcue_outbox_depth", "Events waiting in the outbox")
        self.frames = counter("greetcue_frames", "Frames processed")
        self.frames_dropped = counter("greetcue_frames_dropped", "Frames the loop was too slow for")
        self.outbox_dropped = counter("greetcue_outbox_dropped", "Events dropped at the bound")
        self.latency = Histogram(
            "greetcue_e2e_latency_seconds",
            "Frame capture to broker PUBACK, per event",
            LABELS,
            registry=registry,
            buckets=LATENCY_BUCKETS_S,
        ).labels(**labels)
        self._stage = Histogram(
            "greetcue_stage_seconds",
            "Time per frame in each loop stage",
            (*LABELS, "stage"),
            registry=registry,
            buckets=STAGE_BUCKETS_S,
        )
        self._refused = Gauge(
            "greetcue_refused_messages",
            "Messages refused since start, by kind (see the Metrics schema's refused field)",
            (*LABELS, "kind"),
            registry=registry,
        )
        self._labels = labels

    def set_refused(self, refused: dict[str, int]) -> None:
        for kind, total in refused.items():
            self._refused.labels(kind=kind, **self._labels).set(total)

    def observe_stages(self, stages: Sequence[str], rows: NDArray[np.float64]) -> None:
        for i, stage in enumerate(stages):
            child = self._stage.labels(stage=stage, **self._labels)
            for seconds in rows[:, i][~np.isnan(rows[:, i])]:
                child.observe(float(seconds))

    def serve(self, host: str, port: int) -> tuple[WSGIServer, threading.Thread]:
        """``/metrics`` of this registry on ``host:port`` (0: any free port)."""
        return prometheus_client.start_http_server(port, addr=host, registry=self.registry)
