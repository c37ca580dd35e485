"""``greetcue dashboard``, ``greetcue users``, ``greetcue tokens`` and ``greetcue staff``: run
the dashboard, migrate its database, and manage who may see it."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from sqlalchemy import Engine

from dashboard import auth
from dashboard.settings import load_settings
from dashboard.store.database import current_revision, downgrade, head_revision, open_engine
from dashboard.store.database import upgrade as upgrade_db

if TYPE_CHECKING:
    from dashboard.ingest import IngestStats

console = Console()
WORKER_STATS_EVERY_S = 5.0
ConfigOption = typer.Option(None, "--config", "-c", help="dashboard YAML file; none: defaults")

dashboard_app = typer.Typer(
    help="The manager dashboard and staff page (FastAPI).", invoke_without_command=True
)
users_app = typer.Typer(help="Manager accounts of the dashboard.", no_args_is_help=True)
tokens_app = typer.Typer(help="API tokens for integrations.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff links: one per device, revocable.", no_args_is_help=True)


def _hint(config: Path | None) -> str:
    return f" --config {config}" if config else ""


@dashboard_app.callback()
def serve(
    context: typer.Context,
    config: Path | None = ConfigOption,
    host: str | None = typer.Option(None, "--host", help="listen address (default: config)"),
    port: int | None = typer.Option(None, "--port", help="listen port (default: config)"),
) -> None:
    """Run the dashboard: MQTT ingest, manager pages, staff pages, API and /metrics."""
    if context.invoked_subcommand is not None:
        return
    from dashboard.systemd import serve_app
    from dashboard.web.app import create_app, tune_gc

    settings = load_settings(config)
    app = create_app(settings, config_hint=_hint(config))
    tune_gc()
    host, port = host or settings.listen.host, port or settings.listen.port
    console.print(
        f"dashboard on {'https' if settings.listen.tls else 'http'}://{host}:{port} "
        f"(database {settings.database_url()}, broker {settings.broker.host}:"
        f"{settings.broker.port})",
        highlight=False,
    )
    feeder = app.state.ingest
    serve_app(
        app,
        host,
        port,
        # The writer thread stores every message; without it the dashboard is not working.
        healthy=lambda: feeder is None or feeder.alive,
    )


@dashboard_app.command("migrate")
def migrate(
    config: Path | None = ConfigOption,
    down: str | None = typer.Option(
        None, "--down", help="migrate down to this revision instead (base: drop every table)"
    ),
) -> None:
    """Bring the database to this version's schema (or down, with --down)."""
    settings = load_settings(config)
    engine = open_engine(settings.database_url())
    before = current_revision(engine)
    if down:
        downgrade(engine, down)
    else:
        upgrade_db(engine)
    after = current_revision(engine)
    console.print(
        f"database {engine.url!r}: {before or 'empty'} -> {after or 'empty'} "
        f"(newest {head_revision()})",
        highlight=False,
    )


def _password() -> str:
    if not sys.stdin.isatty():
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise typer.BadParameter("the two passwords differ")
    return first


def _engine(config: Path | None) -> Engine:
    return open_engine(load_settings(config).database_url())


def _revoke(kind: str, name: str, config: Path | None) -> int:
    with _engine(config).begin() as connection:
        return auth.revoke(connection, kind, name)


@users_app.command("add")
def users_add(name: str, config: Path | None = ConfigOption) -> None:
    """Add a manager (or set a new password); the password is asked for, or read from stdin."""
    with _engine(config).begin() as connection:
        auth.add_user(connection, name, _password())
    console.print(f"manager {name} can log in")


@tokens_app.command("add")
def tokens_add(name: str, config: Path | None = ConfigOption) -> None:
    """Make an API token (send it as 'Authorization: Bearer <token>'); shown once."""
    with _engine(config).begin() as connection:
        token = auth.issue_token(connection, "api", name)
    console.print(token, highlight=False)


@tokens_app.command("revoke")
def tokens_revoke(name: str, config: Path | None = ConfigOption) -> None:
    """Revoke every API token of this name."""
    count = _revoke("api", name, config)
    console.print(f"revoked {count} token(s) named {name}")


@staff_app.command("link")
def staff_link(
    device: str,
    site: str = typer.Option(..., "--site", help="the device's site"),
    config: Path | None = ConfigOption,
) -> None:
    """Make the staff link for a device (revokes its previous link); shown once."""
    settings = load_settings(config)
    engine = open_engine(settings.database_url())
    with engine.begin() as connection:
        key = auth.issue_token(connection, "staff", device, site)
    base = settings.listen.public_url or f"http://{settings.listen.host}:{settings.listen.port}"
    console.print(auth.staff_link(base, device, key), highlight=False)


@staff_app.command("revoke")
def staff_revoke(device: str, config: Path | None = ConfigOption) -> None:
    """Revoke a device's staff link: its page stops working at once."""
    count = _revoke("staff", device, config)
    console.print(f"revoked {count} link(s) of {device}")


@dashboard_app.command("ingest")
def ingest_worker(
    config: Path | None = ConfigOption,
    worker: int = typer.Option(
        ...,
        "--worker",
        min=1,
        help="this worker's number (its MQTT client id and persistent session)",
    ),
) -> None:
    """An extra ingest worker: shares the events with the dashboard and other workers
    (MQTT 5 shared subscription broker.shared_group); stores only, serves no pages."""
    import signal
    import threading

    from dashboard.ingest import Ingest
    from dashboard.store.database import require_migrated
    from dashboard.systemd import Notifier

    settings = load_settings(config)
    if not settings.broker.shared_group:
        raise typer.BadParameter(
            "set broker.shared_group in the configuration so the workers share the events"
        )
    engine = open_engine(settings.database_url())
    require_migrated(engine, _hint(config))
    broker = settings.broker.model_copy(
        update={"client_id": f"{settings.broker.client_id}-{worker}"}
    )
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    feeder = Ingest.from_settings(settings, engine, broker=broker).start()
    console.print(f"ingest worker {worker} ({broker.client_id}) into {engine.url!r}")
    systemd = Notifier()
    systemd.send("READY=1")
    every_s = min(WORKER_STATS_EVERY_S, systemd.ping_s or WORKER_STATS_EVERY_S)
    said = ""
    while not done.wait(every_s):
        if feeder.alive:  # a dead writer stops the pings: systemd restarts the worker
            systemd.send("WATCHDOG=1")
        said = _say_stats(worker, feeder.stats, said)  # a line when something changed
    systemd.send("STOPPING=1")
    feeder.stop()
    _say_stats(worker, feeder.stats, "", "stopped: ")


def _say_stats(worker: int, stats: IngestStats, said: str, note: str = "") -> str:
    """Print the worker's totals unless they are what was printed last; what was printed."""
    refused = sum(stats.refused.values())
    line = (
        f"worker {worker}: {note}received {stats.received}, stored {stats.stored}, "
        f"duplicates {stats.duplicates}, refused {refused}"
    )
    if line != said:
        console.print(line, highlight=False)
    return line
