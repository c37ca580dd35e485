"""The ingest's broker link refuses to start on TLS files that do not load, naming the keys to
check (the link connects on a thread of its own, where the error would go unseen)."""

from __future__ import annotations

from pathlib import Path

import pytest

from dashboard.broker_link import BrokerLink
from dashboard.settings import Broker, BrokerTls
from edge.plumbing.mqtt_tls import TlsFilesError


def test_a_ca_file_that_does_not_load_stops_the_start_naming_the_keys(tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    broker = Broker(tls=BrokerTls(ca_file=bad))
    with pytest.raises(TlsFilesError, match=r"broker\.tls: .*check broker\.tls\.ca_file"):
        BrokerLink(broker, 10, [], lambda _delivery: None, lambda _connected: None)
