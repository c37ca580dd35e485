"""A chain of stores with real parts only: a store's Mosquitto bridged (TLS, credentials, QoS 1,
persistent sessions) to a central Mosquitto configured from ``deploy/chain/``, two
``greetcue dashboard ingest`` workers sharing the events into a real PostgreSQL, the store's
link cut for 30 s and one worker killed with ``kill -9`` mid-stream: every event arrives
exactly once and the cues are what one worker alone makes of the same events.

The cut is a black hole, as when a store's WAN link drops: the bridge goes through a TCP
relay that, while cut, forwards nothing either way and accepts new connections without ever
answering. No reset tells either end; both find out by their keepalives, as they would in
a store (stopping the central broker instead would send resets and test a broker restart).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import signal
import socket
import string
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from configparser import ConfigParser
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
import yaml
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, select

from dashboard.settings import Broker, DashboardConfig, load_settings
from dashboard.store import writes
from dashboard.store.tables import CueRow, EventRow
from dashboard.synthetic import visit_events, visits
from edge.contract import Ack, ContractError, Event, Topic, encode, new_id
from edge.service.delivery.broker import Mosquitto, free_port
from edge.tools.bench.postgres_server import PostgresServer
from tests.integration.service.delivery import test_mqtt_tls
from tests.integration.service.delivery.test_mqtt_tls import Pki
from tests.support.dashboard_support import migrated_engine
from tests.support.mosquitto_fixture import PasswordFile, Subscriber
from tests.support.paths import REPO

CHAIN = REPO / "deploy" / "chain"
SITE = "store-1"
PASSWORDS = {SITE: "store-1-bridge-pw", "store-2": "store-2-bridge-pw", "dashboard": "dash-pw"}
PASSWORD_ENV = "GREETCUE_DASHBOARD_MQTT_PASSWORD"
STREAM_S = 42.0  # the stream of events; the schedule below happens inside it
KILL_AT_S, CUT_AT_S, CUT_S = 6.0, 8.0, 30.0
WAIT_S = 60.0  # guards a hung test only; never a speed requirement
pki = test_mqtt_tls.pki  # the fixture: a throwaway CA and a certificate for 127.0.0.1
STATS = re.compile(
    r"worker (\d+): (?:stopped: )?received (\d+), stored (\d+), duplicates (\d+), refused (\d+)"
)


def render(template: str, folder: Path, name: str, **values: object) -> Path:
    """A ``deploy/chain`` template with its placeholders filled in, as envsubst would."""
    text = string.Template((CHAIN / template).read_text()).substitute(values)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text)
    return folder / name


def central_broker(folder: Path, pki: Pki, passwords: Path) -> tuple[Mosquitto, int]:
    """The central Mosquitto with deploy/chain's drop-in, ACL and a password file; its
    plain listener stays on loopback (password and ACL apply there too) for watching."""
    etc = folder / "etc"
    (etc / "certs").mkdir(parents=True)
    shutil.copy(pki.cert, etc / "certs" / "central.crt")
    shutil.copy(pki.key, etc / "certs" / "central.key")
    shutil.copy(passwords, etc / "passwd")
    shutil.copy(CHAIN / "central.acl", etc / "greetcue-central.acl")
    port = free_port()
    values = {"MOSQUITTO_DIR": etc, "TLS_ADDRESS": "127.0.0.1", "TLS_PORT": port}
    drop_in = render("central.conf", etc / "conf.d", "greetcue-central.conf", **values)
    return Mosquitto(folder / "state", extra_config=[f"include_dir {drop_in.parent}"]), port


def store_broker(folder: Path, pki: Pki, central_port: int) -> Mosquitto:
    """The store's Mosquitto with deploy/chain's bridge drop-in towards ``central_port``."""
    values = {"SITE": SITE, "CENTRAL_HOST": "127.0.0.1", "CENTRAL_PORT": central_port}
    values |= {"BRIDGE_PASSWORD": PASSWORDS[SITE], "CA_FILE": pki.ca}
    drop_in = render("store-bridge.conf", folder / "etc", "greetcue-bridge.conf", **values)
    return Mosquitto(folder / "state", extra_config=[f"include_dir {drop_in.parent}"])


@dataclass
class Link:
    """One relayed TCP connection; ``dead`` ones forward nothing."""

    client: socket.socket
    server: socket.socket | None
    dead: bool = False

    def close(self) -> None:
        for sock in (self.client, self.server):
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()


class Relay:
    """A TCP relay on loopback standing in for the store's WAN link to ``target_port``.

    ``cut()``: a black hole (bytes vanish both ways, new connections are accepted and never
    answered); ``restore()``: the connections the cut left dead are ended, new ones forwarded.
    """

    def __init__(self, target_port: int) -> None:
        self._target = target_port
        self._server = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._server.getsockname()[1])
        self._links: list[Link] = []
        self._cut = False
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, name="relay", daemon=True).start()

    def cut(self) -> None:
        with self._lock:
            self._cut = True
            for link in self._links:
                link.dead = True

    def restore(self) -> None:
        with self._lock:
            self._cut = False
            dead = [link for link in self._links if link.dead]
            self._links = [link for link in self._links if not link.dead]
        for link in dead:
            link.close()

    def close(self) -> None:
        self._server.close()
        with self._lock:
            links, self._links = self._links, []
        for link in links:
            link.close()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return  # closed
            with self._lock:
                if self._cut:
                    link = Link(client, None, dead=True)
                else:
                    link = Link(client, socket.create_connection(("127.0.0.1", self._target)))
                self._links.append(link)
            self._pump(link, link.client, link.server)
            if link.server is not None:
                self._pump(link, link.server, link.client)

    def _pump(self, link: Link, source: socket.socket, sink: socket.socket | None) -> None:
        def run() -> None:
            with contextlib.suppress(OSError):
                while data := source.recv(65536):
                    if not link.dead and sink is not None:
                        sink.sendall(data)
            if not link.dead:  # one end closed: close the other (dead ones wait for restore)
                link.close()

        threading.Thread(target=run, name="relay-pump", daemon=True).start()


def restart_seconds() -> float:
    """RestartSec of the shipped worker unit: the supervisor below waits as systemd would."""
    unit = ConfigParser(strict=False, interpolation=None)
    unit.read(CHAIN.parent / "systemd" / "greetcue-ingest@.service")
    assert unit["Service"]["Restart"] == "on-failure"
    return float(unit["Service"]["RestartSec"])


@dataclass
class Worker:
    """``greetcue dashboard ingest --worker N`` supervised like greetcue-ingest@N.service:
    restarted ``restart_s`` after it fails (a signal other than SIGTERM, or an exit code)."""

    number: int
    config: Path
    folder: Path
    restart_s: float
    runs: list[subprocess.Popen[bytes]] = field(default_factory=list)
    _stopping: bool = False

    def start(self) -> Worker:
        self._spawn()
        threading.Thread(target=self._supervise, name=f"unit-{self.number}", daemon=True).start()
        return self

    def log(self, run: int) -> str:
        return self._log_file(run).read_text(errors="replace")

    def kill9(self) -> None:
        os.kill(self.runs[-1].pid, signal.SIGKILL)

    def stop(self) -> None:
        self._stopping = True
        process = self.runs[-1]
        process.send_signal(signal.SIGTERM)
        process.wait(WAIT_S)

    def wait_subscribed(self, runs: int) -> None:
        """Until run number ``runs`` has made its shared subscription."""
        wait_until(
            lambda: len(self.runs) >= runs and "$share/" in self.log(runs - 1),
            f"worker {self.number} to subscribe",
        )

    def totals(self, run: int) -> dict[str, int]:
        """The last totals the run printed: a stopped run's final ones, a killed run's up to
        5 s old (zeros if it printed none)."""
        found = STATS.findall(self.log(run)) or [("", "0", "0", "0", "0")]
        keys = ("received", "stored", "duplicates", "refused")
        return dict(zip(keys, map(int, found[-1][1:]), strict=True))

    def _log_file(self, run: int) -> Path:
        return self.folder / f"worker-{self.number}-run-{run}.log"

    def _spawn(self) -> None:
        command = [str(Path(sys.executable).parent / "greetcue"), "dashboard", "ingest"]
        command += ["--config", str(self.config), "--worker", str(self.number)]
        env = os.environ | {PASSWORD_ENV: PASSWORDS["dashboard"], "PYTHONUNBUFFERED": "1"}
        with self._log_file(len(self.runs)).open("wb") as out:
            self.runs.append(subprocess.Popen(command, stdout=out, stderr=out, env=env))

    def _supervise(self) -> None:
        while True:
            code = self.runs[-1].wait()
            if self._stopping or code == 0:
                return
            time.sleep(self.restart_s)
            if self._stopping:
                return
            self._spawn()


def wait_until(
    check: Callable[[], bool], what: str = "the chain", timeout_s: float = WAIT_S
) -> None:
    deadline = time.monotonic() + timeout_s
    while not check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def central_settings(central_port: int, pki: Pki, database: str, folder: Path) -> Path:
    """deploy/chain's example dashboard config, pointed at this test's broker and database."""
    config = yaml.safe_load((CHAIN / "dashboard-central.yaml").read_text())
    config["broker"] |= {"host": "127.0.0.1", "port": central_port, "tls": {"ca_file": str(pki.ca)}}
    config["database"] = database
    config["state_dir"] = str(folder / "state")
    path = folder / "dashboard.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def chain_events() -> list[tuple[str, Event]]:
    """Real-contract events of 60 visits at two counters of the store, in publish order."""
    out: list[tuple[str, Event]] = []
    for visit in visits(sites=1, cameras=2, days=1, per_day=30, end_s=time.time()):
        topic = Topic.EVENT.build(prefix="greetcue", site=visit.site, camera=visit.camera)
        out += [(topic, event) for event in visit_events(visit)]
    return out


def client(port: int, user: str | None = None, ca: Path | None = None) -> mqtt.Client:
    """A connected MQTT 5 client (TLS when ``ca`` is given)."""
    made = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    if user:
        made.username_pw_set(user, PASSWORDS[user])
    if ca:
        made.tls_set(ca_certs=str(ca))
    made.connect("127.0.0.1", port)
    made.loop_start()
    return made


def publish(sender: mqtt.Client, topic: str, payload: bytes) -> None:
    sender.publish(topic, payload, qos=1).wait_for_publish(WAIT_S)


def stored(engine: Engine) -> tuple[list[str], list[dict[str, Any]]]:
    """Every stored event id, and every cue row, sorted."""
    with engine.connect() as connection:
        ids = sorted(connection.scalars(select(EventRow.id)))
        cues = [dict(row._mapping) for row in connection.execute(select(CueRow.__table__))]
    return ids, sorted(cues, key=lambda row: str(row["cue_id"]))


def one_worker_cues(events: list[Event], folder: Path) -> list[dict[str, Any]]:
    """The cue rows a single writer makes of the same events, in publish order (SQLite)."""
    engine = migrated_engine(DashboardConfig(state_dir=folder))
    with engine.begin() as connection:
        writes.store_events(connection, [writes.Received(event, time.time()) for event in events])
    return stored(engine)[1]


@pytest.fixture
def passwords(password_file: PasswordFile) -> Path:
    return password_file(PASSWORDS)


@pytest.fixture
def central(tmp_path: Path, pki: Pki, passwords: Path) -> Iterator[tuple[Mosquitto, int]]:
    broker, tls_port = central_broker(tmp_path / "central", pki, passwords)
    with broker:
        yield broker, tls_port


def test_every_event_arrives_once_through_a_cut_bridge_and_a_killed_worker(
    tmp_path: Path,
    pki: Pki,
    central: tuple[Mosquitto, int],
    postgres: PostgresServer,
) -> None:
    broker, tls_port = central
    database = postgres.fresh_database(f"chain_{uuid.uuid4().hex[:12]}")
    config = central_settings(tls_port, pki, database, tmp_path)
    settings = load_settings(config)
    engine = migrated_engine(settings)
    relay = Relay(tls_port)
    store = store_broker(tmp_path / "store", pki, relay.port).start()
    bridge_state = Subscriber(
        broker.port, "stores/+/bridge/state", username="dashboard", password=PASSWORDS["dashboard"]
    ).connect()
    acks_at_store = Subscriber(store.port, Topic.ACK.filter(prefix="greetcue")).connect()
    restart_s = restart_seconds()
    workers = [Worker(n, config, tmp_path, restart_s).start() for n in (1, 2)]
    edge, dashboard = client(store.port), client(tls_port, "dashboard", pki.ca)
    try:
        for worker in workers:
            worker.wait_subscribed(runs=1)
        wait_until(lambda: bridge_state.payloads()[-1:] == [b"1"], "the bridge")
        sent = chain_events()
        acks = [encode(Ack(cue_id=new_id(), device="wearable-1")) for _ in range(3)]
        schedule: list[tuple[float, Callable[[], None]]] = [
            (
                1.0,
                lambda: publish(dashboard, settings.broker.ack_topic(SITE, "wearable-1"), acks[0]),
            ),
            (KILL_AT_S, workers[1].kill9),
            (CUT_AT_S, relay.cut),
            (
                CUT_AT_S + 10,
                lambda: publish(dashboard, settings.broker.ack_topic(SITE, "wearable-1"), acks[1]),
            ),
            (CUT_AT_S + CUT_S, relay.restore),
        ]
        start, start_wall = time.monotonic(), time.time()
        for n, (topic, event) in enumerate(sent):
            while schedule and time.monotonic() - start >= schedule[0][0]:
                schedule.pop(0)[1]()
            time.sleep(max(0.0, start + n * STREAM_S / len(sent) - time.monotonic()))
            publish(edge, topic, encode(event))
        streamed_s = time.monotonic() - start
        wait_until(lambda: len(stored(engine)[0]) >= len(sent), "every event in PostgreSQL")
        drained_s = time.monotonic() - start
        # the last ack goes after the other two: one of them sent twice arrives before it
        publish(dashboard, settings.broker.ack_topic(SITE, "wearable-1"), acks[2])
        got_acks = acks_at_store.payloads_until(acks[2])
        for worker in workers:
            worker.stop()
        ids, cues = stored(engine)
    finally:
        for worker in workers:
            with contextlib.suppress(Exception):
                worker.stop()
        for made in (edge, dashboard):
            made.disconnect()
            made.loop_stop()
        bridge_state.disconnect()
        acks_at_store.disconnect()
        store.stop()
        relay.close()

    assert ids == sorted(str(event.id) for _, event in sent)  # all there, none twice
    assert cues == one_worker_cues([event for _, event in sent], tmp_path / "one-worker")
    assert got_acks == acks  # down through the bridge, each once, the second after the cut
    assert bridge_state.payloads()[-3:] == [b"1", b"0", b"1"]  # the central broker saw the cut
    killed, *_ = workers[1].runs
    assert killed.returncode == -signal.SIGKILL and len(workers[1].runs) == 2
    runs = {(w.number, run): w.totals(run) for w in workers for run in range(len(w.runs))}
    assert all(totals["refused"] == 0 for totals in runs.values())
    assert runs[(1, 0)]["stored"] > 0 and runs[(2, 1)]["stored"] > 0  # both took messages
    states = [
        (m.payload.decode(), round(m.received_wall - start_wall, 1)) for m in bridge_state.messages
    ]
    print(
        f"\nchain: {len(sent)} events streamed in {streamed_s:.1f} s, all stored after "
        f"{drained_s:.1f} s; cut {CUT_AT_S}-{CUT_AT_S + CUT_S} s; bridge state at the central "
        f"broker (value, s): {states}; per worker run: {runs}"
    )


def test_a_store_writes_only_its_own_prefix_and_strangers_are_refused(
    central: tuple[Mosquitto, int],
    pki: Pki,
) -> None:
    broker, tls_port = central
    watched = Subscriber(
        broker.port, "stores/#", username="dashboard", password=PASSWORDS["dashboard"]
    )
    own = Topic.EVENT.build(prefix="greetcue", site=SITE, camera="counter-1")
    with watched:
        store = client(tls_port, SITE, pki.ca)
        for topic in (f"stores/store-2/{own}", f"stores/{SITE}/{own}"):
            publish(store, topic, topic.encode())
        watched.wait_for_count(1)  # the allowed one, sent after the refused one
        store.disconnect()
        store.loop_stop()
        assert watched.payloads() == [f"stores/{SITE}/{own}".encode()]
    refused: list[str] = []
    stranger = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    stranger.tls_set(ca_certs=str(pki.ca))
    stranger.on_connect = lambda _c, _u, _f, reason, _p: refused.append(str(reason))
    stranger.connect("127.0.0.1", tls_port)
    stranger.loop_start()
    try:
        wait_until(lambda: bool(refused), "the CONNACK", timeout_s=10)
    finally:
        stranger.loop_stop()
    assert refused[0] == "Not authorized"


@pytest.mark.parametrize(
    ("topic", "expected"),
    [
        ("stores/store-1/greetcue/store-1/counter-1/event", (Topic.EVENT, "store-1")),
        ("stores/store-1/greetcue/store-1/cue/wearable-1", (Topic.CUE, "store-1")),
        ("stores/store-1/bridge/state", None),
        ("greetcue/store-1/counter-1/event", None),
        ("stores/store-2/greetcue/store-1/counter-1/event", "differs from the site"),
    ],
)
def test_a_store_prefix_is_parsed_and_its_site_level_checked(
    topic: str, expected: tuple[Topic, str] | str | None
) -> None:
    broker = Broker(prefix="stores/{site}/greetcue")
    if isinstance(expected, str):
        with pytest.raises(ContractError, match=expected):
            broker.parse_topic(topic)
        return
    found = broker.parse_topic(topic)
    assert (found and (found[0], found[1]["site"])) == expected
    assert broker.ack_topic("store-1", "counter") == "stores/store-1/greetcue/store-1/ack/counter"
    assert broker.prefix_filter == "stores/+/greetcue"
