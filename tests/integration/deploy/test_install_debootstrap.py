"""deploy/install.sh in a real Debian bookworm root made with debootstrap (on demand:
``pytest -m debootstrap``; needs root and the Debian mirror and PyPI).

The root (minbase) is built once and cached as a tarball under
``~/.cache/greetcue/debootstrap``; every run unpacks a fresh copy, copies the checkout in and
runs install.sh there with ``--no-start`` (systemd does not run in a chroot), then checks what
it left, edits a configuration, upgrades and checks again.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from edge.service.delivery.broker import free_port
from tests.support.arm64_check import Arm64CheckError, debian_mirror
from tests.support.paths import REPO

pytestmark = pytest.mark.debootstrap

CACHE = Path.home() / ".cache" / "greetcue" / "debootstrap"
SUITE = "bookworm"
SRC = "/usr/local/src/greetcue"  # the checkout inside the root
MIRROR = "/mnt/greetcue-models"  # GREETCUE_MODEL_MIRROR inside the root
CAMERA = "counter-1"
INSTALL_TIMEOUT_S = 1800.0  # a hung pip must not hang the test; no speed requirement
BROKER_WAIT_S = 10.0


def host_mirror() -> str:
    """The host's Debian bookworm mirror (the arm64 check reads it the same way)."""
    try:
        return debian_mirror()
    except Arm64CheckError as error:
        pytest.fail(str(error), pytrace=False)


def base_tarball() -> Path:
    """A bookworm minbase root for this machine's architecture, built once."""
    arch = subprocess.run(
        ["dpkg", "--print-architecture"], capture_output=True, text=True, check=True
    ).stdout.strip()
    tarball = CACHE / f"{SUITE}-{arch}-minbase.tar"
    if tarball.is_file():
        return tarball
    if shutil.which("debootstrap") is None:
        pytest.fail("debootstrap is not installed: apt-get install debootstrap", pytrace=False)
    CACHE.mkdir(parents=True, exist_ok=True)
    build = CACHE / f"{SUITE}-{arch}.build"
    shutil.rmtree(build, ignore_errors=True)
    command = ["debootstrap", "--variant=minbase", f"--arch={arch}", SUITE, str(build)]
    subprocess.run([*command, host_mirror()], check=True, capture_output=True)
    partial = tarball.with_suffix(".partial")
    subprocess.run(["tar", "-C", str(build), "-cf", str(partial), "."], check=True)
    partial.rename(tarball)
    shutil.rmtree(build)
    return tarball


def copy_checkout(root: Path) -> Path:
    """The checkout's files (tracked, and new ones git does not ignore) at SRC in the root."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        check=True,
    ).stdout.decode()
    target = root / SRC.lstrip("/")
    for name in filter(None, listed.split("\0")):
        source = REPO / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    return target


PIP_CONFIGS = (Path("/etc/pip.conf"), Path("/etc/xdg/pip"))


def pip_ca_bundles() -> list[Path]:
    """The CA bundles pip is told to trust (PIP_CERT, ``cert =`` in the pip configuration)."""
    named = [os.environ.get("PIP_CERT", "")]
    for config in PIP_CONFIGS:
        for path in [config] if config.is_file() else config.glob("*.conf"):
            named += re.findall(r"^\s*cert\s*=\s*(\S+)", path.read_text(), re.M)
    return [Path(name) for name in dict.fromkeys(named) if name and Path(name).is_file()]


def copy_host_settings(root: Path) -> None:
    """What makes the network work in the root as on the host: DNS, pip's settings and the
    CAs pip trusts (also as local CAs, which the root's ca-certificates package adds to its
    own bundle when install.sh installs it)."""
    shutil.copy2("/etc/resolv.conf", root / "etc" / "resolv.conf")
    for path in PIP_CONFIGS:
        if path.is_file():
            shutil.copy2(path, root / path.relative_to("/"))
        elif path.is_dir():
            shutil.copytree(path, root / path.relative_to("/"), dirs_exist_ok=True)
    local_cas = root / "usr" / "local" / "share" / "ca-certificates"
    local_cas.mkdir(parents=True, exist_ok=True)
    for number, bundle in enumerate(pip_ca_bundles()):
        (root / bundle.relative_to("/")).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(bundle, root / bundle.relative_to("/"))
        shutil.copy2(bundle, local_cas / f"host-pip-{number}.crt")


@pytest.fixture
def bookworm(tmp_path: Path, model_mirror: Path) -> Iterator[Path]:
    """A fresh bookworm root with /proc, /dev and the model mirror mounted; unmounted after."""
    if os.geteuid() != 0:
        pytest.fail("the debootstrap test needs root (chroot, mount)", pytrace=False)
    root = tmp_path / "root"
    root.mkdir()
    subprocess.run(["tar", "-C", str(root), "-xf", str(base_tarball())], check=True)
    copy_host_settings(root)
    (root / MIRROR.lstrip("/")).mkdir(parents=True)
    mounts = [
        (["-t", "proc", "proc"], root / "proc"),
        (["--bind", "/dev"], root / "dev"),
        (["--bind", "/dev/pts"], root / "dev" / "pts"),
        (["--bind", "-o", "ro", str(model_mirror)], root / MIRROR.lstrip("/")),
    ]
    mounted: list[Path] = []
    try:
        for options, point in mounts:
            subprocess.run(["mount", *options, str(point)], check=True)
            mounted.append(point)
        yield root
    finally:
        for point in reversed(mounted):
            subprocess.run(["umount", "--lazy", str(point)], check=False)


def in_root(root: Path, *command: str, timeout: float = 120.0) -> subprocess.CompletedProcess[str]:
    """A command in the root, with a clean environment (plus pip's PIP_* settings)."""
    env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
    env |= {"HOME": "/root", "LANG": "C.UTF-8", "GREETCUE_MODEL_MIRROR": MIRROR}
    env |= {k: v for k, v in os.environ.items() if k.startswith("PIP_")}
    return subprocess.run(
        ["chroot", str(root), *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def install(root: Path, *options: str) -> str:
    """Run install.sh in the root; its log, or the test fails with it."""
    done = in_root(
        root, "bash", f"{SRC}/deploy/install.sh", "--no-start", *options, timeout=INSTALL_TIMEOUT_S
    )
    log = done.stdout + done.stderr
    assert done.returncode == 0, log
    return log


def owner_and_mode(root: Path, path: str) -> str:
    return in_root(root, "stat", "-c", "%U:%G %a", path).stdout.strip()


def env_values(root: Path) -> dict[str, str]:
    text = (root / "etc" / "greetcue" / "greetcue.env").read_text()
    return dict(line.split("=", 1) for line in text.splitlines() if "=" in line)


def broker_accepts(port: int, user: str, password: str) -> bool:
    """Whether the broker lets ``user`` in with ``password`` (a real MQTT connect)."""
    answer: list[bool] = []
    client = mqtt.Client(CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv5)
    client.username_pw_set(user, password)
    client.on_connect = lambda c, u, f, reason, p: answer.append(not reason.is_failure)
    deadline = time.monotonic() + BROKER_WAIT_S
    while time.monotonic() < deadline:
        try:
            client.connect("127.0.0.1", port)
            break
        except OSError:
            time.sleep(0.1)  # the broker is still starting
    client.loop_start()
    while not answer and time.monotonic() < deadline:
        time.sleep(0.05)
    client.loop_stop()
    client.disconnect()
    assert answer, "the broker never answered the connect"
    return answer[0]


def check_broker_credentials(root: Path) -> None:
    """The root's Mosquitto with install.sh's password file lets both users in, nobody else."""
    port = free_port()
    test_conf = root / "tmp" / "broker-test.conf"
    conf = (root / "etc" / "mosquitto" / "conf.d" / "greetcue.conf").read_text()
    test_conf.write_text(conf.replace("listener 1883", f"listener {port} 127.0.0.1"))
    test_conf.write_text(test_conf.read_text().replace("persistence true", "persistence false"))
    broker = subprocess.Popen(
        ["chroot", str(root), "mosquitto", "-c", "/tmp/broker-test.conf"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        secrets = env_values(root)
        assert broker_accepts(port, "greetcue-edge", secrets["GREETCUE_MQTT_PASSWORD"])
        assert broker_accepts(
            port, "greetcue-dashboard", secrets["GREETCUE_DASHBOARD_MQTT_PASSWORD"]
        )
        assert not broker_accepts(port, "greetcue-edge", "not-the-password")
    finally:
        broker.terminate()
        broker.wait(BROKER_WAIT_S)


def test_install_sh_sets_up_a_bookworm_box_and_upgrades_it_in_place(bookworm: Path) -> None:
    root = bookworm
    src = copy_checkout(root)
    install(root, "--camera", CAMERA, "--site", "shop-7")

    groups = in_root(root, "id", "-nG", "greetcue").stdout.split()
    assert {"greetcue", "gpio", "video"} <= set(groups)
    assert in_root(root, "/opt/greetcue/venv/bin/greetcue", "--help").returncode == 0
    camera_file = f"/etc/greetcue/cameras/{CAMERA}.yaml"
    check = in_root(root, "/opt/greetcue/venv/bin/greetcue", "config", "check", camera_file)
    assert check.returncode == 0, check.stderr
    assert f"site shop-7, camera {CAMERA} <- /dev/video0" in check.stdout
    assert owner_and_mode(root, "/etc/greetcue/greetcue.env") == "root:greetcue 640"
    assert set(env_values(root)) == {
        "GREETCUE_MQTT_PASSWORD",
        "GREETCUE_DASHBOARD_MQTT_PASSWORD",
        "GREETCUE_DASHBOARD_SECRET",
    }
    assert owner_and_mode(root, "/etc/greetcue/dashboard.yaml") == "root:greetcue 640"
    assert owner_and_mode(root, "/var/lib/greetcue") == "greetcue:greetcue 750"
    assert owner_and_mode(root, "/var/lib/greetcue/dashboard.sqlite3").startswith("greetcue:")
    assert list((root / "var/lib/greetcue/models").glob("*.onnx")), "the weights were pulled"

    passwd = (root / "etc/mosquitto/greetcue.passwd").read_text()
    assert sorted(line.split(":")[0] for line in passwd.splitlines()) == [
        "greetcue-dashboard",
        "greetcue-edge",
    ]
    assert owner_and_mode(root, "/etc/mosquitto/greetcue.passwd") == "root:mosquitto 640"
    conf = (root / "etc/mosquitto/conf.d/greetcue.conf").read_text()
    assert conf == (REPO / "deploy/mosquitto/greetcue.conf").read_text()
    check_broker_credentials(root)

    for unit in ("greetcue-dashboard.service", f"greetcue-edge@{CAMERA}.service"):
        enabled = subprocess.run(
            ["systemctl", f"--root={root}", "is-enabled", unit], capture_output=True, text=True
        )
        assert enabled.stdout.strip() == "enabled", unit
    installed = sorted(p.name for p in (root / "etc/systemd/system").glob("greetcue-*.service"))
    assert installed == sorted(p.name for p in (REPO / "deploy/systemd").glob("*.service"))
    verify = subprocess.run(
        [
            "systemd-analyze",
            "verify",
            f"--root={root}",
            "greetcue-dashboard.service",
            f"greetcue-edge@{CAMERA}.service",
            "greetcue-ingest@1.service",
        ],
        capture_output=True,
        text=True,
    )
    assert verify.returncode == 0, verify.stderr

    # An edited config survives an upgrade; an unedited one takes the new default.
    secrets = env_values(root)
    edited = (root / camera_file.lstrip("/")).read_text().replace("hfov_deg: 66", "hfov_deg: 72")
    (root / camera_file.lstrip("/")).write_text(edited)
    marker = f"# upgrade {time.time_ns()}\n"
    for template in ("deploy/etc/camera.yaml", "deploy/etc/dashboard.yaml", "edge/__init__.py"):
        with (src / template).open("a") as file:
            file.write(marker)

    log = install(root, "--camera", CAMERA, "--site", "shop-7")

    assert (root / camera_file.lstrip("/")).read_text() == edited
    assert (root / f"{camera_file.lstrip('/')}.new").read_text().endswith(marker)
    assert f"keeping your edited {camera_file}" in log
    assert (root / "etc/greetcue/dashboard.yaml").read_text().endswith(marker)
    assert env_values(root) == secrets, "the generated secrets stay"
    site_packages = next((root / "opt/greetcue/venv/lib").glob("python3*/site-packages"))
    assert (site_packages / "edge" / "__init__.py").read_text().endswith(marker), "upgraded"
