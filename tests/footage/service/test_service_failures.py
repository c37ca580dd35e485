"""The service when things fail: the broker goes away, the process is killed, the camera is
down. Nothing is lost, ids make redelivery harmless, and the service never gives up."""

from __future__ import annotations

import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from edge.config import OutboxConfig, write_config
from edge.contract import Metrics, decode, decode_event
from edge.service.delivery.broker import Mosquitto, free_port
from edge.service.service import RunResult, Service
from tests.support.kiosk import PART0, kiosk_config
from tests.support.mosquitto_fixture import Received, Subscriber

AVAILABILITY = "greetcue/pets2009/view001/availability"
WAIT_S = 60.0  # guards against a hung test only


def event_ids(messages: list[Received]) -> list[str]:
    """Ids of the events received first-hand (not the broker's DUP resends)."""
    return [
        str(decode_event(m.payload).id)
        for m in messages
        if m.topic.endswith("/event") and not m.dup
    ]


def outbox_ids(path: Path) -> list[str]:
    """Ids of the events waiting in a service's outbox file (none while it is being created)."""
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
        made = db.execute("SELECT 1 FROM sqlite_master WHERE name = 'outbox'").fetchone()
        rows = db.execute("SELECT payload FROM outbox ORDER BY id").fetchall() if made else []
    return [str(decode_event(bytes(row[0])).id) for row in rows]


def start_service(config: Path, source: Path, log: Path) -> subprocess.Popen[bytes]:
    """``greetcue run --realtime`` in its own process, as systemd would run it."""
    command = [sys.executable, "-m", "edge.cli", "run", "--config", str(config)]
    command += ["--source", str(source), "--realtime"]
    with log.open("ab") as out:
        return subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)


def availability(seen: Subscriber) -> list[bytes]:
    return [m.payload for m in seen.messages if m.topic == AVAILABILITY]


@pytest.fixture
def clip(footage_dir: Path, model_cache: Path) -> Path:
    return footage_dir / PART0


@pytest.fixture
def service_env(model_cache: Path, tmp_path: Path) -> Iterator[None]:
    """Child processes find the model cache and keep their state in tmp_path."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GREETCUE_STATE_DIR", str(tmp_path / "state"))
        yield


@pytest.mark.footage
@pytest.mark.model
def test_a_broker_outage_mid_replay_loses_no_event(
    mosquitto: Mosquitto, clip: Path, tmp_path: Path
) -> None:
    seen = Subscriber(mosquitto.port, "greetcue/#", persistent=True).connect()
    service = Service(kiosk_config(mosquitto.port, tmp_path), str(clip), realtime=True)
    result: list[RunResult] = []
    runner = threading.Thread(target=lambda: result.append(service.run()))
    runner.start()
    try:
        seen.wait_for(lambda ms: any(m.topic.endswith("/event") for m in ms), WAIT_S)
        mosquitto.stop()
        time.sleep(10.0)
        mosquitto.restart()
        runner.join(WAIT_S * 2)
        assert result and result[0].drained, "the file ended and the outbox drained"
        emitted = result[0].events
        seen.wait_for(lambda ms: len(set(event_ids(ms))) >= emitted, WAIT_S)
    finally:
        service.stop()
        runner.join(WAIT_S)
        seen.disconnect()
    ids = event_ids(seen.messages)
    assert len(set(ids)) == emitted >= 30, "every event arrived"
    # At least once: only events in flight when the broker went down may come twice.
    assert len(ids) - len(set(ids)) <= OutboxConfig().inflight


@pytest.mark.footage
@pytest.mark.model
@pytest.mark.usefixtures("service_env")
def test_kill_9_makes_the_broker_say_offline(
    mosquitto: Mosquitto, clip: Path, tmp_path: Path
) -> None:
    config = write_config(kiosk_config(mosquitto.port, tmp_path), tmp_path / "c.yaml")
    seen = Subscriber(mosquitto.port, AVAILABILITY).connect()
    process = start_service(config, clip, tmp_path / "service.log")
    try:
        seen.wait_for(lambda ms: availability(seen)[-1:] == [b"online"], WAIT_S)
        process.kill()
        seen.wait_for(lambda ms: availability(seen)[-1:] == [b"offline"], WAIT_S)
    finally:
        process.kill()
        process.wait()
        seen.disconnect()


@pytest.mark.footage
@pytest.mark.model
@pytest.mark.usefixtures("service_env")
def test_kill_9_while_the_broker_is_down_then_restart_delivers_the_outbox(
    clip: Path, tmp_path: Path
) -> None:
    port = free_port()
    config = kiosk_config(port, tmp_path)
    path = write_config(config, tmp_path / "c.yaml")
    assert config.outbox.path is not None
    log = tmp_path / "service.log"
    process = start_service(path, clip, log)
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and not (
        config.outbox.path.exists() and len(outbox_ids(config.outbox.path)) >= 5
    ):
        time.sleep(0.5)
    process.kill()
    process.wait()
    stored = outbox_ids(config.outbox.path)
    assert len(stored) >= 5, log.read_text()[-2000:]
    with Mosquitto(tmp_path / "mosquitto", port=port) as broker:
        seen = Subscriber(broker.port, "greetcue/#").connect()
        process = start_service(path, clip, log)
        try:
            seen.wait_for(lambda ms: set(stored) <= set(event_ids(ms)), WAIT_S)
            process.send_signal(signal.SIGTERM)
            assert process.wait(WAIT_S) == 0, "SIGTERM is a clean stop"
            seen.wait_for(lambda ms: availability(seen)[-1:] == [b"offline"], WAIT_S)
        finally:
            process.kill()
            process.wait()
            seen.disconnect()
    ids = event_ids(seen.messages)
    assert ids[: len(stored)] == stored, "the outbox is delivered first, in order"


@pytest.mark.model
def test_an_unreachable_camera_is_offline_and_the_service_keeps_trying(
    mosquitto: Mosquitto, model_cache: Path, tmp_path: Path
) -> None:
    camera = f"http://127.0.0.1:{free_port()}/video.mjpg"
    config = kiosk_config(mosquitto.port, tmp_path, camera_retry_max_s=1.0)
    seen = Subscriber(mosquitto.port, "greetcue/#").connect()
    service = Service(config, camera)
    runner = threading.Thread(target=service.run)
    runner.start()
    try:
        metrics = seen.wait_for(
            lambda ms: len([m for m in ms if m.topic.endswith("/metrics")]) >= 3, WAIT_S
        )
        assert runner.is_alive(), "a camera that is down never ends the service"
    finally:
        service.stop()
        runner.join(WAIT_S)
        seen.disconnect()
    assert not runner.is_alive()
    assert availability(seen)[:1] == [b"offline"]
    reports = [decode(Metrics, m.payload) for m in metrics if m.topic.endswith("/metrics")]
    assert not any(report.camera_online for report in reports)


@pytest.mark.footage
@pytest.mark.model
def test_with_no_mqtt_section_an_embedded_broker_carries_the_events(
    clip: Path, tmp_path: Path
) -> None:
    service = Service(kiosk_config(None, tmp_path), str(clip))
    result: list[RunResult] = []
    runner = threading.Thread(target=lambda: result.append(service.run()))
    runner.start()
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline and service.broker_port is None:
        time.sleep(0.05)
    assert service.broker_port is not None
    seen = Subscriber(service.broker_port, "greetcue/#").connect()
    try:
        runner.join(WAIT_S * 2)
        assert result and result[0].drained
        assert event_ids(seen.messages), "events reached a client of the embedded broker"
        port = service.broker_port
    finally:
        service.stop()
        seen.disconnect()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()  # stopped with it
