"""Web Push: a cue reaches a staff phone with its screen off or its page in the background.

A staff page subscribes its browser (``POST /staff/<device>/push``) with the dashboard's VAPID
public key; the key pair is made once and kept in the state folder, so subscriptions outlive a
restart. Every cue for a device is pushed to each of that device's subscriptions: encrypted
(aes128gcm, RFC 8291) and signed (VAPID, RFC 8292) by ``pywebpush``, with the cue's remaining
life as TTL (a push service drops it once stale), urgency high, and the cue id as the push
``Topic``, so a newer message about the same cue replaces one not yet delivered. When the cue is
acknowledged, handled at another device or its customer leaves, a ``close`` message withdraws
the notification. A subscription the push service calls gone (404, 410) is deleted.

Sending happens on one thread of its own, from a bounded queue: the ingest never waits on a
push service; a full queue drops the newest job, counted and logged. A subscription's endpoint
is where the dashboard will POST, so it is checked against the known push services
(``push.endpoint_hosts``): a staff link must not turn the dashboard into a client of any
address on the store LAN.
"""

from __future__ import annotations

import base64
import json
import logging
import queue
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from py_vapid import Vapid02
from pydantic import BaseModel, ConfigDict, Field, field_validator
from pywebpush import WebPushException, webpush
from sqlalchemy import Engine, delete, insert, select

from dashboard.live import DeviceId
from dashboard.staff_words import headline
from dashboard.store.tables import PushSubscriptionRow
from edge.contract import CueCommand

log = logging.getLogger(__name__)

MAX_ENDPOINT = 2048
CLOSE_TTL_S = 600  # a withdrawal is worth delivering for as long as a cue could live
SEND_TIMEOUT_S = 10.0
QUEUE = 1000
B64URL = r"^[A-Za-z0-9_-]+={0,2}$"


class PushRefusedError(ValueError):
    """A subscription the dashboard will not push to; the message says why."""


class Keys(BaseModel):
    """The browser's keys of one subscription (base64url): its P-256 public key (65 bytes)
    and its auth secret (16 bytes)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    p256dh: str = Field(min_length=80, max_length=100, pattern=B64URL)
    auth: str = Field(min_length=16, max_length=32, pattern=B64URL)

    @field_validator("p256dh")
    @classmethod
    def _point(cls, value: str) -> str:
        raw = _unb64(value)
        if len(raw) != 65 or raw[0] != 4:
            raise ValueError("p256dh must be an uncompressed P-256 public key (65 bytes)")
        return value

    @field_validator("auth")
    @classmethod
    def _secret(cls, value: str) -> str:
        if len(_unb64(value)) != 16:
            raise ValueError("auth must be a 16-byte secret")
        return value


class Subscription(BaseModel):
    """What ``PushSubscription.toJSON()`` gives (``expirationTime`` and the like ignored)."""

    model_config = ConfigDict(extra="ignore", frozen=True)
    endpoint: str = Field(min_length=10, max_length=MAX_ENDPOINT)
    keys: Keys

    def info(self) -> dict[str, Any]:
        """As ``pywebpush`` takes it."""
        return {"endpoint": self.endpoint, "keys": self.keys.model_dump()}


def check_endpoint(endpoint: str, hosts: list[str]) -> None:
    """Refuse an endpoint that is not HTTPS on a push service host in ``hosts`` (a host
    matches itself and its subdomains; plain HTTP only for a loopback host listed there)."""
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    known = any(host == h or host.endswith(f".{h}") for h in hosts)
    loopback = host in ("127.0.0.1", "::1", "localhost")
    if not known:
        raise PushRefusedError(
            f"the endpoint's host {host or '(none)'} is no push service this dashboard knows "
            "(push.endpoint_hosts)"
        )
    if parts.scheme != "https" and not (parts.scheme == "http" and loopback):
        raise PushRefusedError("a push endpoint must be https")


def vapid_key(folder: Path) -> Vapid02:
    """The dashboard's VAPID key pair, made once and kept owner-only in ``folder``."""
    path = folder / "vapid-private.pem"
    if path.exists():
        return Vapid02.from_file(str(path))
    vapid = Vapid02()
    vapid.generate_keys()
    vapid.save_key(str(path))
    path.chmod(0o600)
    return vapid


def public_key(vapid: Vapid02) -> str:
    """The ``applicationServerKey`` a page subscribes with: the raw public point, base64url."""
    from cryptography.hazmat.primitives import serialization

    raw = vapid.public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def save(engine: Engine, device: DeviceId, subscription: Subscription, keep: int) -> None:
    """Keep a device's subscription (a known endpoint is updated, not doubled); past ``keep``
    per device the oldest go."""
    now = time.time()
    with engine.begin() as connection:
        connection.execute(
            delete(PushSubscriptionRow).where(PushSubscriptionRow.endpoint == subscription.endpoint)
        )
        connection.execute(
            insert(PushSubscriptionRow).values(
                site=device.site,
                device=device.device,
                endpoint=subscription.endpoint,
                p256dh=subscription.keys.p256dh,
                auth=subscription.keys.auth,
                created_s=now,
            )
        )
        rows = connection.execute(
            select(PushSubscriptionRow.id)
            .where(_of(device))
            .order_by(PushSubscriptionRow.created_s.desc(), PushSubscriptionRow.id.desc())
        ).scalars()
        stale = list(rows)[keep:]
        if stale:
            connection.execute(delete(PushSubscriptionRow).where(PushSubscriptionRow.id.in_(stale)))


def remove(engine: Engine, device: DeviceId, endpoint: str) -> bool:
    """Forget one of a device's subscriptions; whether there was one."""
    with engine.begin() as connection:
        gone = connection.execute(
            delete(PushSubscriptionRow).where(_of(device), PushSubscriptionRow.endpoint == endpoint)
        )
    return bool(gone.rowcount)


def subscriptions(engine: Engine, device: DeviceId) -> list[Subscription]:
    """A device's subscriptions, newest first."""
    with engine.connect() as connection:
        rows = connection.execute(
            select(PushSubscriptionRow)
            .where(_of(device))
            .order_by(PushSubscriptionRow.created_s.desc())
        ).all()
    return [
        Subscription(endpoint=r.endpoint, keys=Keys(p256dh=r.p256dh, auth=r.auth)) for r in rows
    ]


def cue_message(command: CueCommand) -> dict[str, Any]:
    """The notification of a cue, in staff words, as the service worker shows it."""
    title = headline(command.zone, command.reason)
    body = f"{round(command.distance_ft)} ft away" if command.distance_ft is not None else ""
    return {
        "type": "cue",
        "cue_id": str(command.cue_id),
        "title": title,
        "body": body,
        "expires_at": command.expires_at.isoformat(),
        "ack_url": f"/staff/{command.device}/ack",
    }


@dataclass(frozen=True, slots=True)
class _Job:
    device: DeviceId
    message: dict[str, Any]
    ttl_s: int
    urgency: str
    topic: str


Send = Callable[..., Any]


class WebPush:
    """Pushes cues and their withdrawals to devices' subscriptions, on its own thread."""

    def __init__(
        self,
        engine: Engine,
        vapid: Vapid02,
        contact: str,
        send: Send = webpush,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._engine, self._vapid, self._contact = engine, vapid, contact
        self._send, self._clock = send, clock
        self._jobs: queue.Queue[_Job | None] = queue.Queue(QUEUE)
        self.counts: Counter[str] = Counter()
        self._thread = threading.Thread(target=self._run, name="web-push", daemon=True)
        self._thread.start()

    def cue(self, command: CueCommand) -> None:
        """Push a cue to its device (any thread; never waits)."""
        ttl = int(command.expires_at.timestamp() - self._clock())
        if ttl <= 0:
            self.counts["expired"] += 1
            return
        device = DeviceId(command.site, command.device)
        self._offer(_Job(device, cue_message(command), ttl, "high", _topic(str(command.cue_id))))

    def withdraw(self, device: DeviceId, cue_id: str) -> None:
        """Take a cue's notification back from a device (acknowledged, handled, left)."""
        message = {"type": "close", "cue_id": cue_id}
        self._offer(_Job(device, message, CLOSE_TTL_S, "normal", _topic(cue_id)))

    def close(self, timeout_s: float = 5.0) -> None:
        """Send what is queued (up to ``timeout_s``), then stop the thread."""
        try:
            self._jobs.put(None, timeout=timeout_s)
        except queue.Full:
            return
        self._thread.join(timeout=timeout_s)

    def wait_idle(self, timeout_s: float = 10.0) -> bool:
        """Whether every queued job was sent within ``timeout_s`` (tests, shutdown)."""
        deadline = time.monotonic() + timeout_s
        while self._jobs.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.01)
        return not self._jobs.unfinished_tasks

    def _offer(self, job: _Job) -> None:
        try:
            self._jobs.put_nowait(job)
        except queue.Full:
            self.counts["dropped"] += 1
            log.warning(
                "web push queue full (%d): a %s for %s dropped",
                QUEUE,
                job.message["type"],
                job.device,
            )

    def _run(self) -> None:
        while True:
            job = self._jobs.get()
            try:
                if job is None:
                    return
                for subscription in subscriptions(self._engine, job.device):
                    self._push(job, subscription)
            except Exception:  # a broken job must not end the thread
                self.counts["error"] += 1
                log.exception("web push failed for %s", job.device if job else "?")
            finally:
                self._jobs.task_done()

    def _push(self, job: _Job, subscription: Subscription) -> None:
        try:
            self._send(
                subscription.info(),
                data=json.dumps(job.message),
                vapid_private_key=self._vapid,
                vapid_claims={"sub": self._contact},
                ttl=job.ttl_s,
                headers={"Urgency": job.urgency, "Topic": job.topic},
                timeout=SEND_TIMEOUT_S,
            )
        except WebPushException as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status in (404, 410):
                remove(self._engine, job.device, subscription.endpoint)
                self.counts["gone"] += 1
                log.info("web push subscription of %s gone (%d): removed", job.device, status)
                return
            self.counts["failed"] += 1
            log.warning("web push to %s refused (%s): %s", job.device, status or "no answer", exc)
            return
        self.counts["sent"] += 1


def _of(device: DeviceId) -> Any:
    return (PushSubscriptionRow.site == device.site) & (PushSubscriptionRow.device == device.device)


def _topic(cue_id: str) -> str:
    """A push ``Topic`` header (at most 32 URL-safe characters): the cue id's hex."""
    return cue_id.replace("-", "")[:32]


def _unb64(value: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    except ValueError:
        return b""
