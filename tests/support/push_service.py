"""A stand-in for a browser vendor's push service, on an ephemeral local port, and a browser's
side of a subscription (its key pair and auth secret), for the Web Push tests.

The service records every push it is sent and answers 201 (accepted), or 410 (gone) for
endpoints under ``/gone/``. ``Subscriber.open`` decrypts a recorded push with the reference
library (``http_ece``), as a browser would.
"""

from __future__ import annotations

import base64
import json
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

WAIT_S = 10.0


def b64url(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@dataclass(frozen=True)
class Push:
    """One push as the service received it."""

    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class PushService:
    """The service; ``endpoint(name)`` is a subscription's URL on it."""

    base: str
    pushes: list[Push] = field(default_factory=list)
    changed: threading.Condition = field(default_factory=threading.Condition)

    def endpoint(self, name: str) -> str:
        return f"{self.base}/push/{name}"

    def wait_for(self, count: int, timeout_s: float = WAIT_S) -> list[Push]:
        """Once ``count`` pushes have arrived, all of them; fails with what did otherwise."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while len(self.pushes) < count:
                left = deadline - time.monotonic()
                assert left > 0, f"{len(self.pushes)} pushes arrived, waited for {count}"
                self.changed.wait(left)
            return list(self.pushes)


@dataclass
class Subscriber:
    """A browser's side of one subscription: its P-256 key pair and 16-byte auth secret."""

    endpoint: str
    key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    auth: bytes = field(default_factory=lambda: os.urandom(16))

    def json(self) -> dict[str, Any]:
        """As ``PushSubscription.toJSON()`` gives it."""
        point = self.key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return {
            "endpoint": self.endpoint,
            "keys": {"p256dh": b64url(point), "auth": b64url(self.auth)},
        }

    def open(self, push: Push) -> dict[str, Any]:
        """The push's message, decrypted as the browser would (aes128gcm, RFC 8291)."""
        assert push.headers.get("content-encoding") == "aes128gcm", push.headers
        plain = http_ece.decrypt(
            push.body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        opened: dict[str, Any] = json.loads(plain)
        return opened


def serve_push_service() -> Iterator[PushService]:
    """Run the service until the generator is closed (a fixture's body)."""
    service: PushService | None = None

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            assert service is not None
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with service.changed:
                service.pushes.append(Push(self.path, headers, body))
                service.changed.notify_all()
            self.send_response(410 if self.path.startswith("/push/gone") else 201)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    service = PushService(f"http://127.0.0.1:{server.server_port}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield service
    finally:
        server.shutdown()
        server.server_close()
