"""The MQTT link over TLS to a real Mosquitto whose certificate a throwaway CA signed: the
broker keeps its plain listener (subscribers watch there) and gets a TLS-only one."""

from __future__ import annotations

import logging
import shutil
import socket
import ssl
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from edge.config.service import MqttConfig
from edge.service.delivery.broker import Mosquitto, free_port
from edge.service.delivery.mqtt import MqttLink
from tests.support.mosquitto_fixture import Subscriber

pytestmark = pytest.mark.integration  # starts real Mosquitto brokers

if TYPE_CHECKING:
    from tests.support.mosquitto_fixture import PasswordFile

AVAILABILITY = "greetcue/store-1/counter-1/availability"
EVENTS = "greetcue/store-1/counter-1/event"
WAIT_S = 10.0  # guards against a hung test only
EXTENSIONS = """[req]
distinguished_name = dn
prompt = no
[dn]
CN = greetcue test
[ca]
basicConstraints = critical,CA:TRUE
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1,DNS:localhost
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
"""


@dataclass(frozen=True)
class Pki:
    ca: Path
    other_ca: Path  # signed nothing the broker uses
    cert: Path
    key: Path


COMMANDS = [  # {d}: the folder; split before filling in, so a space in it is harmless
    "req -x509 -config {d}/x.cnf -extensions ca -subj /CN=ca -keyout {d}/ca.key -out {d}/ca.crt",
    "req -x509 -config {d}/x.cnf -extensions ca -subj /CN=ca -keyout {d}/o.key -out {d}/o.crt",
    "req -new -config {d}/x.cnf -subj /CN=127.0.0.1 -keyout {d}/s.key -out {d}/s.csr",
    "x509 -req -in {d}/s.csr -CA {d}/ca.crt -CAkey {d}/ca.key -set_serial 2 -days 2 "
    "-extfile {d}/x.cnf -extensions server -out {d}/s.crt",
]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """Two CAs (ca, other_ca) and a server certificate for 127.0.0.1 / localhost from ca."""
    tool = shutil.which("openssl")
    if tool is None:  # `cryptography` is no dependency of greetcue: openssl makes the certs
        pytest.fail("the TLS tests need the openssl command (apt install openssl)", pytrace=False)
    folder = tmp_path_factory.mktemp("pki")
    (folder / "x.cnf").write_text(EXTENSIONS)
    for command in COMMANDS:
        args = [arg.format(d=folder) for arg in command.split()]
        if args[0] == "req":
            args += ["-days", "2", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        subprocess.run([tool, *args], check=True, capture_output=True, timeout=WAIT_S)
    return Pki(folder / "ca.crt", folder / "o.crt", folder / "s.crt", folder / "s.key")


def tls_broker(folder: Path, pki: Pki, password_file: Path | None = None) -> tuple[Mosquitto, int]:
    """A Mosquitto (not started) with its plain listener and a TLS one on the returned port
    (per_listener_settings stays false: allow_anonymous / password_file cover both)."""
    plain = free_port()
    tls = next(port for port in iter(free_port, None) if port != plain)
    extra = [f"listener {tls} 127.0.0.1", f"cafile {pki.ca}", f"certfile {pki.cert}"]
    extra.append(f"keyfile {pki.key}")
    return Mosquitto(folder, plain, password_file=password_file, extra_config=extra), tls


def link_to(port: int, ca: Path, **options: object) -> MqttLink:
    config = {"host": "127.0.0.1", "port": port, "reconnect_max_s": 1, "tls": {"ca_file": ca}}
    return MqttLink(MqttConfig.model_validate(config | options), AVAILABILITY, "greetcue-tls")


def wait_until(condition: Callable[[], bool], timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_tls_link_says_online_and_delivers_qos1(tmp_path: Path, pki: Pki) -> None:
    broker, tls_port = tls_broker(tmp_path / "broker", pki)
    acks: list[int] = []
    with broker, Subscriber(broker.port, EVENTS) as events:
        link = link_to(tls_port, pki.ca)
        link.add_ack_callback(lambda mid, code, wall: acks.append(code))
        try:
            link.start()
            wait_until(lambda: link.connected)
            assert link.publish(EVENTS, b'{"id": 1}', qos=1) is not None
            assert events.wait_for_count(1)[0].payload == b'{"id": 1}'
            wait_until(lambda: 0 in acks)  # the PUBACK came back over TLS
            with Subscriber(broker.port, AVAILABILITY) as late:
                retained = late.wait_for_count(1)[0]
            assert (retained.payload, retained.retain) == (b"online", True)
        finally:
            link.close()


def refused_by_other_ca(tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture) -> int:
    """Runs a link trusting only other_ca for ~3 s; returns the broker's TLS port."""
    caplog.set_level(logging.DEBUG)
    broker, tls_port = tls_broker(tmp_path / "broker", pki)
    with broker:
        trusting = ssl.create_default_context(cafile=pki.other_ca)
        raw = socket.create_connection(("127.0.0.1", tls_port), timeout=WAIT_S)
        with raw, pytest.raises(ssl.SSLCertVerificationError):  # what refuses it: the cert
            trusting.wrap_socket(raw, server_hostname="127.0.0.1")
        link = link_to(tls_port, pki.other_ca).start()  # raises nothing into the caller
        try:
            wait_until(lambda: "certificate verify failed" in caplog.text)
            deadline = time.monotonic() + 2.5  # a few reconnect attempts (reconnect_max_s 1)
            while time.monotonic() < deadline:
                assert not link.connected and link.generation == 0
                time.sleep(0.05)
        finally:
            link.close()
    return tls_port


def test_a_broker_signed_by_another_ca_is_refused_and_the_log_says_why(
    tmp_path: Path, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    tls_port = refused_by_other_ca(tmp_path, pki, caplog)
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors, "a certificate failure is an error an integrator must fix"
    assert all(f"TLS to 127.0.0.1:{tls_port}: certificate verify failed" in e for e in errors)
    assert all("mqtt.tls.ca_file" in e for e in errors)


def test_tls_with_a_password_connects_and_never_logs_it(
    tmp_path: Path,
    pki: Pki,
    password_file: PasswordFile,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    secret = "tls-s3cret-Pa55"
    caplog.set_level(logging.DEBUG)
    monkeypatch.setenv("GREETCUE_TEST_PASSWORD", secret)
    broker, tls_port = tls_broker(tmp_path / "broker", pki, password_file({"edge": secret}))
    options = {"username": "edge", "password_env": "GREETCUE_TEST_PASSWORD"}
    with broker, Subscriber(broker.port, AVAILABILITY, username="edge", password=secret) as sub:
        link = link_to(tls_port, pki.ca, **options).start()
        try:
            wait_until(lambda: link.connected)
            assert sub.wait_for_count(1)[0].payload == b"online"
        finally:
            link.close()
    assert f"connected to 127.0.0.1:{tls_port} as greetcue-tls (user edge)" in caplog.text
    assert secret not in caplog.text
