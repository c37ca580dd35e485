"""This machine's address on its LAN, to prove a listener is not reachable from there."""

from __future__ import annotations

import socket

import pytest


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
