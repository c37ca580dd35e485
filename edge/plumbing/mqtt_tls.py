"""TLS on a paho MQTT client, from the CA, certificate and key files a configuration names."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Protocol

import paho.mqtt.client as mqtt


class TlsFiles(Protocol):
    """The TLS section of a configuration: any file left out is not used."""

    @property
    def ca_file(self) -> Path | None: ...
    @property
    def cert_file(self) -> Path | None: ...
    @property
    def key_file(self) -> Path | None: ...


class TlsFilesError(RuntimeError):
    """A CA, certificate or key file does not load; the message names the keys to check."""


def configure_tls(client: mqtt.Client, tls: TlsFiles, key: str, insecure: bool = False) -> None:
    """TLS with the system's CAs unless ``ca_file``; a file that does not load raises
    ``TlsFilesError`` naming the configuration's ``key`` (e.g. ``mqtt.tls``)."""
    try:
        client.tls_set(
            ca_certs=str(tls.ca_file) if tls.ca_file else None,
            certfile=str(tls.cert_file) if tls.cert_file else None,
            keyfile=str(tls.key_file) if tls.key_file else None,
        )
    except (OSError, ssl.SSLError) as err:
        raise TlsFilesError(
            f"{key}: cannot load the CA / certificate / key ({err}); check {key}.ca_file, "
            "cert_file and key_file"
        ) from err
    if insecure:
        client.tls_insecure_set(True)
