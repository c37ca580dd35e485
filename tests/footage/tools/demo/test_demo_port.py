"""The live demo when another program holds its port: it serves on a free one and prints that."""

from __future__ import annotations

import io
import re
import socket
import threading
import time
import urllib.request
from pathlib import Path

import pytest
from rich.console import Console

from edge.cli.demo_live import LiveDemo
from edge.tools.demo.replays import EXAMPLES

WAIT_S = 60.0  # guards a hung test only


@pytest.mark.footage
@pytest.mark.model
def test_a_taken_port_moves_the_dashboard_to_a_free_one_and_the_links_say_so(
    tmp_path: Path, footage_dir: Path, model_cache: Path
) -> None:
    with socket.socket() as holder:  # "another program" on the port the demo is told to use
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        printed = io.StringIO()
        demo = LiveDemo(tmp_path, EXAMPLES, taken, demo_staff=False)
        runner = threading.Thread(target=demo.run, args=(Console(file=printed, width=300), 0.1))
        runner.start()
        try:
            deadline = time.monotonic() + WAIT_S
            while (
                found := re.search(r"manager pages: +(http://\S+/)", printed.getvalue())
            ) is None:
                assert runner.is_alive() and time.monotonic() < deadline, printed.getvalue()
                time.sleep(0.1)
            with urllib.request.urlopen(f"{found[1]}healthz", timeout=10) as answer:
                status = answer.status
        finally:
            runner.join(WAIT_S)
    text = printed.getvalue()
    assert status == 200, text
    assert f":{taken}/" not in text and f"port {taken} is in use by another program" in text
