"""Network helpers: this machine's LAN address (to prove a listener is not reachable from
there), whether a port accepts connections, and a one-off MQTT publish."""

from __future__ import annotations

import contextlib
import socket
import time

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

WAIT_S = 10.0  # guards a hung test only


def lan_address() -> str:
    """The address other machines reach this one at (skips the test on a box with none)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("203.0.113.1", 9))  # TEST-NET-3; UDP sends nothing: it picks a route
        except OSError:
            pytest.skip("no network interface besides loopback")
        address = str(probe.getsockname()[0])
    if address.startswith("127."):
        pytest.skip("no network interface besides loopback")
    return address


def reachable(host: str, port: int) -> bool:
    """Whether a TCP connection to ``host:port`` is accepted."""
    try:
        socket.create_connection((host, port), timeout=5).close()
    except OSError:
        return False
    return True


def publish(port: int, topic: str, payload: bytes) -> None:
    """Publish at QoS 1 from a fresh MQTT 5 client; a broker that hangs up on it is no error."""
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=MQTTProtocolVersion.MQTTv5)
    client.connect("127.0.0.1", port)
    client.loop_start()
    deadline = time.monotonic() + WAIT_S
    while not client.is_connected():
        assert time.monotonic() < deadline, "no CONNACK"
        time.sleep(0.05)
    with contextlib.suppress(RuntimeError):  # Mosquitto may disconnect a too-big publisher
        client.publish(topic, payload, qos=1).wait_for_publish(WAIT_S)
    client.disconnect()
    client.loop_stop()
