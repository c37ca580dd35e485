"""MQTT fuzzing: 10,000 hostile messages from hypothesis (tests/support/hostile_payloads.py) over
every topic the dashboard and the edge subscribe to, against a real Mosquitto, the real
``greetcue dashboard`` on a real SQLite file and the real ``greetcue run`` on PETS footage,
with good events interleaved. Both processes stay up, the dashboard's memory stays bounded,
every good event is stored exactly once and nothing hostile is, and every refusal is counted:
the dashboard's ``/metrics`` and the edge's metrics messages grow by exactly what was sent."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import paho.mqtt.client as mqtt
import psutil
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion
from prometheus_client.parser import text_string_to_metric_families

from edge.config import write_config
from edge.contract import MAX_PAYLOAD_BYTES, CueCommand, Event, Metrics, Topic, decode, encode
from edge.service.delivery.broker import Mosquitto, free_port
from tests.support.dashboard_support import Customer
from tests.support.hostile_payloads import (
    HA_STATUS,
    PREFIX,
    Names,
    Shot,
    Verdict,
    contract_accepts,
    generate,
)
from tests.support.kiosk import PART0, kiosk_config
from tests.support.mosquitto_fixture import Received, Subscriber

SHOTS = 10_000
GOOD_EVERY = 20  # a good event after this many hostile messages
CHUNK = 500  # hostile messages between two waits for the dashboard to store a good event
EDGE_FPS = 2.0  # PETS part 0 (250 frames) paced to last 125 s: longer than the flood
RSS_MARGIN = 100 * 1024 * 1024
WAIT_S = 60.0  # guards a hung test only
ACK_KINDS = ("ack_payload", "ack_topic_mismatch", "ack_inbox_full", "ack_unmatched", "ack_not_cued")


@dataclass
class Tally:
    """What was sent and what must follow from it."""

    sent: Counter[str] = field(default_factory=Counter)  # by topic kind
    labels: Counter[str] = field(default_factory=Counter)  # by mutation
    broker_dropped: int = 0  # past the broker's message_size_limit
    dashboard_refusals: int = 0  # messages under the prefix the contract refuses
    edge_acks: int = 0  # acks on the edge's own ack topics: the edge refuses every one
    ha_online: int = 0
    ha_other: int = 0
    live_cue_acks: int = 0
    retained: dict[str, bool | None] = field(default_factory=dict)  # topic: refused? (None: gone)
    good: list[str] = field(default_factory=list)  # good event ids
    accepted: list[str] = field(default_factory=list)  # hostile-looking events still valid


class Stack:
    """The dashboard and the edge as subprocesses on one broker, and what watches them."""

    def __init__(self, broker: Mosquitto, tmp: Path, footage: Path) -> None:
        self.broker, self.tmp = broker, tmp
        self.edge_config = kiosk_config(broker.port, tmp / "edge")
        site, camera = self.edge_config.site, self.edge_config.camera.name
        self.names = Names(site, camera, tuple(self.edge_config.cues.rota))
        self.edge_out = Subscriber(broker.port, f"{PREFIX}/{site}/{camera}/#").connect()
        cue_topic = Topic.CUE.build(prefix=PREFIX, site=site, device=self.names.rota[0])
        self.cues = Subscriber(broker.port, cue_topic).connect()
        self.discovery = Subscriber(broker.port, "homeassistant/device/+/config").connect()
        self.port = free_port()
        self.database = tmp / "dashboard" / "dashboard.sqlite3"
        self.env = dict(os.environ, GREETCUE_STATE_DIR=str(tmp / "state"))
        self._greetcue = self._configure_dashboard()
        self.dashboard = self._spawn(self._greetcue, "dashboard.log")
        path = write_config(self.edge_config, tmp / "edge.yaml")
        command = [sys.executable, "-m", "edge.cli", "run", "--config", str(path)]
        command += ["--source", str(footage / PART0), "--realtime", "--fps", str(EDGE_FPS)]
        self.edge = self._spawn(command, "edge.log")

    def _spawn(self, command: list[str], log: str) -> subprocess.Popen[bytes]:
        with (self.tmp / log).open("wb") as out:
            return subprocess.Popen(command, env=self.env, stdout=out, stderr=subprocess.STDOUT)

    def _configure_dashboard(self) -> list[str]:
        """Write the dashboard's config and migrate its database; the command that serves."""
        config = self.tmp / "dashboard.yaml"
        broker = {"host": self.broker.host, "port": self.broker.port, "client_id": "fuzz-dash"}
        settings = {"broker": broker, "state_dir": str(self.database.parent)}
        config.write_text(json.dumps(settings | {"listen": {"port": self.port}}))
        greetcue = [sys.executable, "-m", "edge.cli", "dashboard", "--config", str(config)]
        migrate = [*greetcue[:4], "migrate", *greetcue[4:]]
        subprocess.run(migrate, env=self.env, check=True, capture_output=True, timeout=WAIT_S)
        return greetcue

    def restart_dashboard(self) -> None:
        """Stop the dashboard and start it again on the same database and broker session."""
        self.dashboard.terminate()
        self.dashboard.wait(timeout=WAIT_S)
        self.dashboard = self._spawn(self._greetcue, "dashboard-restarted.log")

    def logs(self) -> str:
        """The tail of both processes' logs, for a failure message."""
        tails = []
        for name in ("dashboard.log", "dashboard-restarted.log", "edge.log"):
            if not (self.tmp / name).exists():
                continue
            text = (self.tmp / name).read_text(errors="replace").splitlines()[-25:]
            tails.append(f"--- {name}\n" + "\n".join(text))
        return "\n".join(tails)

    def close(self) -> None:
        for process in (self.edge, self.dashboard):
            process.terminate()
        for process in (self.edge, self.dashboard):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for sub in (self.edge_out, self.cues, self.discovery):
            sub.disconnect()

    # --- what the processes say -----------------------------------------------------------

    def health(self) -> dict[str, Any]:
        """The dashboard's /healthz answer (fails on anything but 200)."""
        answer = httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=5)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        return body

    def dashboard_refused(self) -> Counter[str]:
        """The dashboard's refusals by kind, from its /metrics."""
        text = httpx.get(f"http://127.0.0.1:{self.port}/metrics", timeout=5).text
        refused: Counter[str] = Counter()
        for family in text_string_to_metric_families(text):
            if family.name == "greetcue_dashboard_refused":
                for sample in family.samples:
                    if sample.name.endswith("_total"):
                        refused[sample.labels["kind"]] = int(sample.value)
        return refused

    def edge_metrics(self) -> list[Metrics]:
        """Every metrics report the edge published so far."""
        reports = [m for m in self.edge_out.messages if m.topic.endswith("/metrics")]
        return [decode(Metrics, m.payload) for m in reports]

    def edge_events(self, since: float) -> list[Received]:
        return [
            m
            for m in self.edge_out.messages
            if m.topic.endswith("/event") and m.received_wall >= since
        ]

    def live_cue(self) -> str:
        """A cue id the edge really sent to the rota's first device (random before one)."""
        messages = self.cues.messages
        if not messages:
            return str(uuid.uuid4())
        command: CueCommand = decode(CueCommand, messages[-1].payload)
        return str(command.cue_id)

    def stored(self, ids: list[str]) -> Counter[str]:
        """How many rows each of ``ids`` has in the dashboard's events table."""
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10) as db:
            found: Counter[str] = Counter()
            for start in range(0, len(ids), 500):
                part = ids[start : start + 500]
                marks = ",".join("?" * len(part))
                query = f"SELECT id FROM events WHERE id IN ({marks})"
                found.update(row[0] for row in db.execute(query, part))
        return found

    def all_stored(self) -> set[str]:
        with sqlite3.connect(f"file:{self.database}?mode=ro", uri=True, timeout=10) as db:
            return {row[0] for row in db.execute("SELECT id FROM events")}


def wait_until(what: str, check: Any, stack: Stack, timeout_s: float = WAIT_S) -> Any:
    """Polls ``check()`` until it returns something truthy; fails naming ``what``."""
    deadline = time.monotonic() + timeout_s
    while True:
        for process, name in ((stack.dashboard, "dashboard"), (stack.edge, "edge")):
            if process.poll() is not None:
                raise AssertionError(f"the {name} exited ({process.returncode}) while waiting "
                                     f"for {what}\n{stack.logs()}")  # fmt: skip
        try:
            result = check()
        except (httpx.HTTPError, sqlite3.Error, AssertionError):
            result = None
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(
                f"timed out after {timeout_s} s waiting for {what}\n{stack.logs()}"
            )
        time.sleep(0.05)


class RssSampler:
    """Samples a process's resident memory on a thread; ``peak`` is the largest seen."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self.peak = self.baseline = self._process.memory_info().rss
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            try:
                self.peak = max(self.peak, self._process.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class Flood:
    """One MQTT connection sending hostile messages and good events, counting both."""

    def __init__(self, stack: Stack) -> None:
        self.stack, self.tally = stack, Tally()
        self._client = mqtt.Client(
            # MQTT 3.1.1: the broker drops a publish past its message_size_limit and keeps
            # the connection (an MQTT 5 client breaking the advertised limit is disconnected)
            CallbackAPIVersion.VERSION2,
            client_id="fuzzer",
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        self._client.max_queued_messages_set(0)
        self._client.connect(stack.broker.host, stack.broker.port)
        self._client.loop_start()
        wait_until("the fuzzer's connection", self._client.is_connected, stack)
        self._customers: list[Event] = []

    def close(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()

    def hostile(self, shot: Shot) -> None:
        """Send one hostile message and note what must become of it."""
        payload = shot.payload(self.stack.live_cue)
        tally, names = self.tally, self.stack.names
        tally.sent[shot.kind] += 1
        tally.labels[shot.label] += 1
        if len(payload) > MAX_PAYLOAD_BYTES:  # the broker drops it: nobody gets to refuse it
            tally.broker_dropped += 1
        elif shot.topic.startswith(f"{PREFIX}/"):
            accepted = shot.verdict is Verdict.CONTRACT and contract_accepts(shot.topic, payload)
            tally.dashboard_refusals += not accepted
            if shot.retain:  # an empty retained message clears the topic
                tally.retained[shot.topic] = not accepted if payload else None
            if accepted and shot.kind == "event":
                tally.accepted.append(json.loads(payload)["id"])
        levels = shot.topic.split("/")
        if len(payload) > MAX_PAYLOAD_BYTES:
            pass
        elif levels[:3] == [PREFIX, names.edge_site, "ack"] and len(levels) == 4:
            tally.edge_acks += 1
            tally.live_cue_acks += "live cue" in shot.label
        elif shot.topic == HA_STATUS:
            online = payload.strip() == b"online"
            tally.ha_online += online
            tally.ha_other += not online
        info = self._client.publish(shot.topic, payload, qos=shot.qos, retain=shot.retain)
        if info.rc != mqtt.MQTT_ERR_SUCCESS:  # the broker closed the connection on an earlier one
            raise AssertionError(f"publishing {shot} failed: {mqtt.error_string(info.rc)}")

    def good(self) -> str:
        """Send one valid event on a site only the fuzzer writes (QoS 1); its id."""
        if not self._customers:
            sites, cameras = self.stack.names.fuzz_sites, self.stack.names.cameras
            n = len(self.tally.good)
            who = Customer(time.time(), sites[n % 2], cameras[n // 2 % 2], n % 5000, "counter")
            self._customers = [who.cue(), who.enter(1.5), who.ack(2.0), who.left(9.0)]
        event = self._customers.pop(0)
        topic = Topic.EVENT.build(prefix=PREFIX, site=event.site, camera=event.camera)
        assert contract_accepts(topic, encode(event)), event
        self._client.publish(topic, encode(event), qos=1).wait_for_publish(WAIT_S)
        self.tally.good.append(str(event.id))
        return str(event.id)


@contextmanager
def running_stack(broker: Mosquitto, tmp: Path, footage: Path) -> Iterator[Stack]:
    stack = Stack(broker, tmp, footage)
    try:
        yield stack
    finally:
        stack.close()


@pytest.mark.footage
@pytest.mark.model
def test_hostile_flood_stops_nothing_and_every_refusal_is_counted(
    mosquitto: Mosquitto, tmp_path: Path, footage_dir: Path, model_cache: Path
) -> None:
    started = time.monotonic()
    with running_stack(mosquitto, tmp_path, footage_dir) as stack:
        shots = generate(stack.names, SHOTS)
        generated_s = time.monotonic() - started
        wait_until("the dashboard's broker connection",
                   lambda: stack.health().get("broker_connected"), stack)  # fmt: skip
        first = wait_until("the edge's first metrics report", stack.edge_metrics, stack)[-1]
        refused_before = stack.dashboard_refused()
        discovery_before = len(stack.discovery.messages)
        rss = RssSampler(stack.dashboard.pid)
        flood = Flood(stack)
        flood_started, sentinel = time.time(), ""
        try:
            for index, shot in enumerate(shots, 1):
                flood.hostile(shot)
                if index % GOOD_EVERY == 0:
                    sentinel = flood.good()
                if index % CHUNK == 0 or index == len(shots):
                    wait_until(f"good event {sentinel} after hostile message {index}",
                               partial(stack.stored, [sentinel]), stack)  # fmt: skip
            flood_s = time.time() - flood_started
            tally = flood.tally
            expected = sum(refused_before.values()) + tally.dashboard_refusals
            wait_until(f"{expected} refusals counted by the dashboard",
                       lambda: sum(stack.dashboard_refused().values()) >= expected, stack,
                       timeout_s=20)  # fmt: skip
        finally:
            flood.close()
            rss.stop()

        def edge_counted() -> Metrics | None:
            latest = stack.edge_metrics()[-1]
            acks = sum(latest.refused.get(k, 0) - first.refused.get(k, 0) for k in ACK_KINDS)
            ignored = latest.refused.get("ha_status_ignored", 0)
            resends = len(stack.discovery.messages) - discovery_before
            coalesced = latest.refused.get("ha_status_coalesced", 0)
            done = acks >= tally.edge_acks and ignored >= tally.ha_other
            return latest if done and coalesced + resends >= tally.ha_online else None

        report = wait_until("the edge counting every refused ack", edge_counted, stack, 30)
        refused_after = stack.dashboard_refused()
        health = stack.health()
        stored = stack.stored(tally.good + tally.accepted)
        everything = stack.all_stored()
        edge_events = stack.edge_events(since=flood_started)
        edge_ids = {json.loads(m.payload)["id"] for m in stack.edge_out.messages
                    if m.topic.endswith("/event")}  # fmt: skip
        alive = {"dashboard": stack.dashboard.poll(), "edge": stack.edge.poll()}

        # The retained ones again, as a restarted dashboard gets them before anything else.
        poisoned = sum(refused is True for refused in tally.retained.values())
        stack.restart_dashboard()
        wait_until("the restarted dashboard's broker connection",
                   lambda: stack.health().get("broker_connected"), stack)  # fmt: skip
        after = Flood(stack)
        restarted_sentinel = after.good()
        after.close()
        wait_until("a good event stored after the restart",
                   partial(stack.stored, [restarted_sentinel]), stack)  # fmt: skip
        wait_until(f"{poisoned} retained messages refused after the restart",
                   lambda: sum(stack.dashboard_refused().values()) >= poisoned, stack,
                   timeout_s=20)  # fmt: skip
        refused_restarted = stack.dashboard_refused()
        alive_restarted = stack.dashboard.poll()

    dashboard_delta = refused_after - refused_before
    edge_delta = {k: v - first.refused.get(k, 0) for k, v in report.refused.items()}
    summary = (
        f"\n{SHOTS} hostile messages in {flood_s:.1f} s (generated in {generated_s:.1f} s), "
        f"{len(tally.good)} good events; by topic kind {dict(tally.sent)}; "
        f"{tally.broker_dropped} past the broker's size limit\n"
        f"dashboard refused {dict(dashboard_delta)} (expected {tally.dashboard_refusals} in "
        f"all); RSS {rss.baseline / 2**20:.0f} MB -> peak {rss.peak / 2**20:.0f} MB\n"
        f"edge refused {edge_delta} ({tally.edge_acks} acks, {tally.live_cue_acks} for real "
        f"cues; {tally.ha_online} HA online, {tally.ha_other} other HA status); "
        f"{len(edge_events)} edge events during and after the flood"
    )
    summary += (
        f"\nafter a restart: {poisoned} retained messages to refuse; refused "
        f"{dict(refused_restarted)}"
    )
    print(summary)
    assert alive == {"dashboard": None, "edge": None}, summary
    assert health["ok"] and health["broker_connected"], health
    assert rss.peak <= rss.baseline + RSS_MARGIN, summary
    missing = [i for i in tally.good if stored[i] != 1]
    assert not missing, f"{len(missing)} good events not stored once: {missing[:5]}{summary}"
    unaccounted = everything - set(tally.good) - set(tally.accepted) - edge_ids
    assert not unaccounted, f"hostile events stored: {sorted(unaccounted)[:5]}{summary}"
    assert sum(dashboard_delta.values()) == tally.dashboard_refusals, summary
    acks = sum(edge_delta.get(kind, 0) for kind in ACK_KINDS)
    assert acks == tally.edge_acks, summary
    assert edge_delta.get("ha_status_ignored", 0) == tally.ha_other, summary
    assert edge_delta.get("handler_error", 0) == 0, summary
    assert edge_events, f"the edge published no event during the flood{summary}"
    assert alive_restarted is None, summary
    assert sum(refused_restarted.values()) == poisoned, summary
