"""TLS on an MQTT client, from the CA, certificate and key files a configuration names: an
``ssl.SSLContext`` for any client, set on a paho client by ``configure_tls``."""

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


def tls_context(tls: TlsFiles, key: str) -> ssl.SSLContext:
    """A client context that checks the broker's certificate and name, against the system's
    CAs unless ``ca_file``; a file that does not load raises ``TlsFilesError`` naming the
    configuration's ``key`` (e.g. ``mqtt.tls``)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)  # CERT_REQUIRED, check_hostname
    try:
        if tls.cert_file:
            context.load_cert_chain(str(tls.cert_file), str(tls.key_file) if tls.key_file else None)
        if tls.ca_file:
            context.load_verify_locations(str(tls.ca_file))
        else:
            context.load_default_certs()
    except (OSError, ssl.SSLError) as err:
        raise TlsFilesError(
            f"{key}: cannot load the CA / certificate / key ({err}); check {key}.ca_file, "
            "cert_file and key_file"
        ) from err
    return context


def configure_tls(client: mqtt.Client, tls: TlsFiles, key: str, insecure: bool = False) -> None:
    """TLS on a paho client with :func:`tls_context`; ``insecure`` skips the name check."""
    client.tls_set_context(tls_context(tls, key))
    client.tls_insecure_set(insecure)
