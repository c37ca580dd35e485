"""The dashboard serves HTTPS itself when ``listen.tls_cert`` and ``tls_key`` are set: started
as `greetcue dashboard` does, its cookies are then Secure and browsers are told to keep to
HTTPS; a certificate and key that do not load are refused when the settings load."""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
import sys
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import yaml
from playwright.sync_api import Browser
from typer.testing import CliRunner

from dashboard import auth
from dashboard.settings import SettingsError, load_settings
from dashboard.tls import ca_der, fingerprint
from edge.cli import app
from edge.service.delivery.broker import free_port
from tests.support.dashboard_support import MANAGER, migrated_engine

pytestmark = pytest.mark.integration  # starts the dashboard as a child process

START_S = 60.0  # guards a dashboard that never answers


@dataclass
class Pem:
    cert: Path
    key: Path


def make_pem(folder: Path, *openssl_options: str) -> Pem:
    """A self-signed certificate for 127.0.0.1 and its key, made by the openssl command."""
    openssl = shutil.which("openssl")
    assert openssl, "the openssl command is missing: apt-get install openssl"
    folder.mkdir(parents=True)
    pem = Pem(folder / "cert.pem", folder / "key.pem")
    command = [openssl, "req", "-x509", "-newkey", "rsa:2048", "-days", "2"]
    command += ["-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"]
    command += ["-keyout", str(pem.key), "-out", str(pem.cert), *openssl_options]
    subprocess.run(command, check=True, capture_output=True)
    return pem


def trusting(pem: Pem) -> ssl.SSLContext:
    """A client context that trusts this self-signed certificate."""
    return ssl.create_default_context(cafile=pem.cert)


@pytest.fixture
def pem(tmp_path: Path) -> Pem:
    return make_pem(tmp_path / "tls", "-noenc")


def write_config(path: Path, listen: Mapping[str, object], state: Path) -> Path:
    data = {"listen": listen, "state_dir": str(state), "broker": {"port": free_port()}}
    path.write_text(yaml.safe_dump(data))
    return path


def test_a_tls_pair_that_does_not_load_is_refused_naming_the_keys(tmp_path: Path, pem: Pem) -> None:
    other = make_pem(tmp_path / "other", "-noenc")
    locked = make_pem(tmp_path / "locked", "-passout", "pass:secret")
    for listen, words in [
        ({"tls_cert": str(pem.cert)}, "go together"),
        ({"tls_cert": str(pem.cert), "tls_key": str(other.key)}, "do not load"),
        ({"tls_cert": str(locked.cert), "tls_key": str(locked.key)}, "unencrypted"),
        ({"tls_cert": str(tmp_path / "nowhere.pem"), "tls_key": str(pem.key)}, "tls_cert"),
    ]:
        config = write_config(tmp_path / "d.yaml", listen, tmp_path / "state")
        with pytest.raises(SettingsError, match=words) as refused:
            load_settings(config)
        assert "listen" in str(refused.value)


@contextmanager
def running_dashboard(
    tmp_path: Path, listen: Mapping[str, object], verify: ssl.SSLContext
) -> Iterator[tuple[str, str]]:
    """`greetcue dashboard` serving HTTPS with ``listen`` on a free port; its base URL and a
    staff link."""
    port = free_port()
    config = write_config(tmp_path / "dashboard.yaml", {**listen, "port": port}, tmp_path / "state")
    engine = migrated_engine(load_settings(config))
    base = f"https://127.0.0.1:{port}"
    with engine.begin() as connection:
        auth.add_user(connection, *MANAGER)
        key = auth.issue_token(connection, "staff", "wearable-1", "store-1")
    engine.dispose()
    env = {k: v for k, v in os.environ.items() if not k.startswith("GREETCUE_DASHBOARD")}
    command = [sys.executable, "-m", "edge.cli", "dashboard", "--config", str(config)]
    log = tmp_path / "dashboard.log"
    with log.open("wb") as out:
        server = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_S
        while True:
            assert server.poll() is None, log.read_text()
            try:
                httpx.get(f"{base}/healthz", verify=verify, timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, log.read_text()
                time.sleep(0.1)
        assert f"dashboard on {base}" in log.read_text()
        yield base, auth.staff_link(base, "wearable-1", key)
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture
def https_dashboard(tmp_path: Path, pem: Pem) -> Iterator[tuple[str, str]]:
    """`greetcue dashboard` serving HTTPS with a self-signed pair."""
    listen = {"tls_cert": str(pem.cert), "tls_key": str(pem.key)}
    with running_dashboard(tmp_path, listen, trusting(pem)) as served:
        yield served


def test_served_over_tls_every_cookie_is_secure(https_dashboard: tuple[str, str], pem: Pem) -> None:
    base, staff_link = https_dashboard
    with httpx.Client(base_url=base, verify=trusting(pem)) as client:
        form = client.get("/login")
        assert form.headers["strict-transport-security"] == "max-age=31536000"
        assert "secure" in form.headers["set-cookie"].lower()
        csrf = form.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        data = {"username": MANAGER[0], "password": MANAGER[1], "csrf": csrf, "next": "/"}
        logged_in = client.post("/login", data=data)
        assert logged_in.status_code == 303, logged_in.text
        session = logged_in.headers["set-cookie"].lower()
        assert session.startswith("greetcue_session=") and "; secure" in session
        assert client.get("/").status_code == 200
        staff = client.get(staff_link)
        assert staff.status_code == 303, staff.text
        assert "; secure" in staff.headers["set-cookie"].lower()


def test_a_local_authority_from_greetcue_dashboard_tls_is_offered_and_trusted(
    tmp_path: Path, browser: Browser, screenshots: Path
) -> None:
    """What an integrator does: `greetcue dashboard tls` for the box's name and address, its
    printed settings into the YAML file; a phone that trusts only the authority (downloaded
    from /trust) reaches the dashboard by name and by address."""
    folder = tmp_path / "tls"
    made = CliRunner().invoke(
        app,
        ["dashboard", "tls", "--name", "localhost", "--ip", "127.0.0.1", "--out", str(folder)],
        env={"GREETCUE_STATE_DIR": str(tmp_path / "state")},
    )
    assert made.exit_code == 0, made.output
    assert "certificate authority" in made.output and "new" in made.output
    printed = yaml.safe_load(made.output[made.output.index("listen:") :])["listen"]
    listen = {k: printed[k] for k in ("tls_cert", "tls_key", "tls_ca")}
    phone = ssl.create_default_context(cafile=folder / "ca.pem")
    with running_dashboard(tmp_path, listen, phone) as (base, _):
        page = httpx.get(f"{base}/trust", verify=phone)
        assert page.status_code == 200
        assert fingerprint(folder / "ca.pem") in page.text and "iPhone" in page.text
        download = httpx.get(f"{base}/trust/greetcue-ca.crt", verify=phone)
        assert download.headers["content-type"] == "application/x-x509-ca-cert"
        assert download.content == ca_der(folder / "ca.pem")
        by_name = base.replace("127.0.0.1", "localhost")
        assert httpx.get(f"{by_name}/healthz", verify=phone).status_code == 200
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            httpx.get(f"{base}/healthz", verify=ssl.create_default_context())
        # What a phone shows before it trusts anything (so the browser is told to go on).
        context = browser.new_context(
            viewport={"width": 390, "height": 844}, is_mobile=True, ignore_https_errors=True
        )
        try:
            screen = context.new_page()
            screen.goto(f"{base}/trust")
            assert screen.locator("#android li").count() == 4
            assert screen.locator("#ios li").count() == 4
            assert screen.locator("#download").is_visible()
            width = screen.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the page scrolls sideways on a phone ({width} px)"
            screen.screenshot(path=screenshots / "trust-screen.png", full_page=True)
        finally:
            context.close()
