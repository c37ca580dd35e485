"""The dashboard's commands as a new user meets them, run as real processes: bad names are
refused, a database that is not set up is named with its fix (and nothing is created), links
and tokens are never wrapped, a taken port names listen.port, and managers can be listed,
given a new password and removed."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from dashboard.settings import DashboardConfig, Listen
from dashboard.store.database import open_engine, upgrade

pytestmark = pytest.mark.integration  # starts greetcue dashboard commands as child processes

TIMEOUT_S = 60


def greetcue(
    *args: str, env: dict[str, str] | None = None, stdin: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "edge.cli", *args],
        capture_output=True,
        text=True,
        input=stdin,
        timeout=TIMEOUT_S,
        env={**os.environ, **(env or {})},
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    """A dashboard config on a migrated SQLite database."""
    settings = DashboardConfig(state_dir=tmp_path / "state")
    engine = open_engine(settings.database_url())
    upgrade(engine)
    engine.dispose()
    path = tmp_path / "dashboard.yaml"
    path.write_text(yaml.safe_dump(settings.model_dump(mode="json", exclude_none=True)))
    return path


@pytest.mark.parametrize(
    ("command", "named"),
    [
        (["staff", "link", "bad name/x", "--site", "store-1"], "the device 'bad name/x'"),
        (["staff", "link", "counter", "--site", "store 1"], "the site 'store 1'"),
        (["tokens", "add", ""], "the token name ''"),
    ],
)
def test_names_outside_the_contract_rule_are_refused(
    config: Path, command: list[str], named: str
) -> None:
    done = greetcue(*command, "--config", str(config))
    assert done.returncode == 2, done
    assert f"{named} is not a valid name" in done.stdout + done.stderr
    assert "Traceback" not in done.stderr


def test_a_database_not_set_up_is_named_with_its_fix_and_nothing_is_created(
    tmp_path: Path,
) -> None:
    state = tmp_path / "state"
    done = greetcue("tokens", "add", "grafana", env={"GREETCUE_STATE_DIR": str(state)})
    said = done.stdout + done.stderr
    assert done.returncode == 2 and "Traceback" not in said, said
    assert "is not set up" in said and "greetcue dashboard migrate" in said
    assert len(said.strip().splitlines()) <= 3, said  # was a 153-line traceback
    assert not state.exists()  # was an empty database left behind


def test_links_and_tokens_are_never_wrapped(config: Path) -> None:
    narrow = {"COLUMNS": "40"}
    link = greetcue(
        "staff", "link", "counter", "--site", "store-1", "--config", str(config), env=narrow
    )
    assert link.returncode == 0, link.stderr
    assert link.stdout.count("\n") == 1 and "/staff/counter?key=" in link.stdout
    assert len(link.stdout.strip()) > 40
    token = greetcue("tokens", "add", "grafana", "--config", str(config), env=narrow)
    assert token.returncode == 0 and len(token.stdout.strip().split()) == 1, token


def test_managers_are_listed_given_a_new_password_and_removed(config: Path) -> None:
    c = ("--config", str(config))
    assert greetcue("users", "add", "alex", *c, stdin="a long password\n").returncode == 0
    again = greetcue("users", "add", "alex", *c, stdin="a long password\n")
    assert again.returncode == 2 and "greetcue users password" in again.stdout
    assert "alex" in greetcue("users", "list", *c).stdout
    changed = greetcue("users", "password", "alex", *c, stdin="another long password\n")
    assert changed.returncode == 0 and "session(s) ended" in changed.stdout
    assert greetcue("users", "remove", "alex", *c).returncode == 0
    assert "no managers yet" in greetcue("users", "list", *c).stdout
    missing = greetcue("users", "remove", "alex", *c)
    assert missing.returncode == 2 and "no manager 'alex'" in missing.stdout


def test_a_taken_listen_port_names_the_port_and_the_key(config: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        settings = yaml.safe_load(config.read_text())
        settings["listen"] = Listen(port=port).model_dump(mode="json", exclude_none=True)
        config.write_text(yaml.safe_dump(settings))
        done = greetcue("dashboard", "--config", str(config))
    said = done.stdout + done.stderr
    assert done.returncode == 2 and "Traceback" not in said, said
    assert f"port {port} on 127.0.0.1 is already in use" in said and "listen.port" in said
