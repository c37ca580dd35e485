"""The browser's side of a Web Push subscription, for the Web Push tests: its key pair and auth
secret, and decryption of a push as the browser does it (``http_ece``, the reference library).
The stand-in push service itself is the one ``greetcue bench delivery`` uses."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import http_ece
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge.cli.bench_delivery import Pushed, PushService, b64url, push_service

__all__ = ["PushService", "Pushed", "Subscriber", "push_service"]


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

    def open(self, push: Pushed) -> dict[str, Any]:
        """The push's message, decrypted as the browser would (aes128gcm, RFC 8291)."""
        assert push.headers.get("content-encoding") == "aes128gcm", push.headers
        plain = http_ece.decrypt(
            push.body, private_key=self.key, auth_secret=self.auth, version="aes128gcm"
        )
        opened: dict[str, Any] = json.loads(plain)
        return opened
