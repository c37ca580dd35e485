"""``greetcue dashboard``, ``greetcue users``, ``greetcue tokens`` and ``greetcue staff``: run
the dashboard, migrate its database, and manage who may see it."""

from __future__ import annotations

import getpass
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from sqlalchemy import Engine
from sqlalchemy.engine import make_url

from dashboard import auth
from dashboard.settings import load_settings
from dashboard.store.database import (
    DatabaseError,
    current_revision,
    downgrade,
    head_revision,
    open_engine,
    require_migrated,
)
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
SiteOption = typer.Option(..., "--site", help="the device's site")
tokens_app = typer.Typer(help="API tokens for integrations.", no_args_is_help=True)
staff_app = typer.Typer(help="Staff links: one per device, revocable.", no_args_is_help=True)


def _hint(config: Path | None) -> str:
    return f" --config {config}" if config else ""


def _say(secret: str) -> None:
    """A link or token on a line of its own, never wrapped, so a copy of it works."""
    typer.echo(secret)


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
    from dashboard.gc_tuning import tune_gc
    from dashboard.systemd import serve_app
    from dashboard.web.app import create_app

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


@dashboard_app.command("tls")
def make_tls_files(
    config: Path | None = ConfigOption,
    name: list[str] = typer.Option(
        None, "--name", help="a DNS name phones use (repeatable; default: this box's host names)"
    ),
    address: list[str] = typer.Option(
        None, "--ip", help="an IP address phones use (repeatable; default: this box's addresses)"
    ),
    out: Path | None = typer.Option(None, "--out", help="folder (default: <state folder>/tls)"),
    days: int = typer.Option(825, help="server certificate lifetime (iOS accepts at most 825)"),
) -> None:
    """HTTPS on the store LAN: a local certificate authority (made once, kept) and a server
    certificate it signs for the box's names and addresses; prints the listen settings."""
    from dashboard.tls import TlsError, fingerprint, host_addresses, host_names, make_tls

    settings = load_settings(config)
    folder = out or settings.folder() / "tls"
    names, addresses = name or host_names(), address or host_addresses()
    try:
        files = make_tls(folder, names, addresses, days)
    except TlsError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    said = "new" if files.new_ca else "kept (phones that trust it need nothing new)"
    console.print(f"certificate authority {files.ca}: {said}", highlight=False)
    console.print(f"  SHA-256 {fingerprint(files.ca)}", highlight=False)
    console.print(
        f"server certificate {files.cert} for {', '.join(names + addresses)}, {days} days",
        highlight=False,
    )
    host = names[0] if names else addresses[0]
    console.print(
        "Put this in the dashboard's YAML file, restart it, then open /trust on each phone "
        "to trust the authority:",
        highlight=False,
    )
    _say(
        f"listen:\n  host: 0.0.0.0\n  port: {settings.listen.port}\n"
        f"  public_url: https://{host}:{settings.listen.port}\n"
        f"  tls_cert: {files.cert}\n  tls_key: {files.key}\n  tls_ca: {files.ca}"
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
    """The configuration's database, migrated; one that is not set up is refused (and no
    database or folder is created) with the command that sets it up."""
    url = load_settings(config).database_url(create=False)
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and not Path(parsed.database or "").is_file():
        other = "" if config else ", or pass the --config your dashboard runs with"
        raise DatabaseError(
            f"the database {parsed.database} is not set up; run `greetcue dashboard "
            f"migrate{_hint(config)}` first{other}"
        )
    engine = open_engine(url)
    require_migrated(engine, _hint(config))
    return engine


@users_app.command("add")
def users_add(name: str, config: Path | None = ConfigOption) -> None:
    """Add a manager; the password is asked for, or read from stdin."""
    with _engine(config).begin() as connection:
        auth.add_user(connection, name, _password())
    console.print(f"manager {name} can log in", highlight=False)


@users_app.command("list")
def users_list(config: Path | None = ConfigOption) -> None:
    """Every manager, when they were added, and their live sessions."""
    with _engine(config).connect() as connection:
        users = auth.list_users(connection)
    for name, created_s, sessions in users:
        added = datetime.fromtimestamp(created_s, UTC).strftime("%Y-%m-%d %H:%M UTC")
        console.print(f"{name}\tadded {added}\t{sessions} live session(s)", highlight=False)
    if not users:
        console.print("no managers yet: `greetcue users add NAME` makes one", highlight=False)


@users_app.command("remove")
def users_remove(name: str, config: Path | None = ConfigOption) -> None:
    """Remove a manager: their sessions end at once."""
    with _engine(config).begin() as connection:
        auth.remove_user(connection, name)
    console.print(f"manager {name} removed; their sessions ended", highlight=False)


@users_app.command("password")
def users_password(name: str, config: Path | None = ConfigOption) -> None:
    """Set a manager's password (asked for, or read from stdin); every session of theirs ends."""
    with _engine(config).begin() as connection:
        ended = auth.set_password(connection, name, _password())
    console.print(f"new password for {name}; {ended} session(s) ended", highlight=False)


@tokens_app.command("add")
def tokens_add(name: str, config: Path | None = ConfigOption) -> None:
    """Make an API token (send it as 'Authorization: Bearer <token>'); shown once."""
    with _engine(config).begin() as connection:
        token = auth.issue_token(connection, "api", name)
    _say(token)


@tokens_app.command("revoke")
def tokens_revoke(name: str, config: Path | None = ConfigOption) -> None:
    """Revoke every API token of this name."""
    with _engine(config).begin() as connection:
        count = auth.revoke(connection, "api", name)
    console.print(f"revoked {count} token(s) named {name}", highlight=False)


@staff_app.command("link")
def staff_link(device: str, site: str = SiteOption, config: Path | None = ConfigOption) -> None:
    """Make the staff link for a site's device (revokes that device's previous link at that
    site); shown once."""
    settings = load_settings(config)
    with _engine(config).begin() as connection:
        key = auth.issue_token(connection, "staff", device, site)
    base = settings.listen.public_url or f"http://{settings.listen.host}:{settings.listen.port}"
    _say(auth.staff_link(base, device, key))


@staff_app.command("list")
def staff_list(config: Path | None = ConfigOption) -> None:
    """The devices with a live staff link, by site."""
    with _engine(config).connect() as connection:
        links = auth.live_tokens(connection, "staff")
    for device, site, created_s in links:
        made = datetime.fromtimestamp(created_s, UTC).strftime("%Y-%m-%d %H:%M UTC")
        console.print(f"{site}\t{device}\tmade {made}", highlight=False)
    if not links:
        console.print("no live staff links", highlight=False)


@staff_app.command("revoke")
def staff_revoke(device: str, site: str = SiteOption, config: Path | None = ConfigOption) -> None:
    """Revoke a site's device's staff link: its page stops working at once."""
    with _engine(config).begin() as connection:
        count = auth.revoke(connection, "staff", device, site)
    console.print(f"revoked {count} link(s) of {device} at {site}", highlight=False)


roster_app = typer.Typer(
    help="Who works a site's counter: names staff sign in with, so acks say who gave them.",
    no_args_is_help=True,
)
staff_app.add_typer(roster_app, name="roster")


@roster_app.command("add")
def roster_add(
    name: str,
    site: str = SiteOption,
    code: bool = typer.Option(
        False, "--code", help="they sign in with a code: asked for here, never shown again"
    ),
    config: Path | None = ConfigOption,
) -> None:
    """Put a person on a site's staff list."""
    from dashboard import roster

    secret = getpass.getpass(f"staff code for {name} (4-32 letters or digits): ") if code else None
    try:
        with _engine(config).begin() as connection:
            roster.add(connection, site, name, secret)
    except (roster.RosterError, auth.AuthError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    console.print(f"{name} is on {site}'s staff list", highlight=False)


@roster_app.command("list")
def roster_list(config: Path | None = ConfigOption) -> None:
    """Every site's staff list."""
    from dashboard import roster

    with _engine(config).connect() as connection:
        found = roster.members(connection)
    for member in found:
        console.print(
            f"{member.site}\t{member.name}" + ("\twith a code" if member.has_code else ""),
            highlight=False,
        )
    if not found:
        console.print("no staff lists: nobody is asked to sign in", highlight=False)


@roster_app.command("remove")
def roster_remove(name: str, site: str = SiteOption, config: Path | None = ConfigOption) -> None:
    """Take a person off a site's staff list (their sign-ins end)."""
    from dashboard import roster

    with _engine(config).begin() as connection:
        gone = roster.remove(connection, site, name)
    console.print(f"{name} {'removed from' if gone else 'was not on'} {site}'s staff list")


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

    from dashboard.gc_tuning import tune_gc
    from dashboard.ingest import Ingest
    from dashboard.store.database import require_migrated
    from edge.plumbing.systemd import Notifier

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
    tune_gc()
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


report_app = typer.Typer(
    help="Acknowledgement reports by e-mail (the dashboard sends them by itself; see reports).",
    no_args_is_help=True,
)
dashboard_app.add_typer(report_app, name="report")


@report_app.command("send")
def report_send(
    config: Path | None = ConfigOption,
    weekly: bool = typer.Option(
        False, "--weekly/--daily", help="the 7 days before today, or yesterday (default)"
    ),
    site: str | None = typer.Option(None, "--site", help="one site's report; default: the chain"),
    to: list[str] = typer.Option(
        None, "--to", help="send to this address instead (repeatable): a test of the settings"
    ),
) -> None:
    """Send a report now, through reports.smtp: to check the mail settings, or to send again
    one that failed. Exits 1 with what to fix when the mail server refuses it."""
    from pydantic import TypeAdapter, ValidationError

    from dashboard.reports.mail import MailError
    from dashboard.reports.schedule import Job, Mailer, period
    from dashboard.settings import EmailAddress

    settings = load_settings(config)
    if settings.reports.smtp is None:
        console.print("[red]error:[/] set reports.smtp (and reports.sender) in the configuration")
        raise typer.Exit(2)
    reports = settings.reports
    try:
        TypeAdapter(list[EmailAddress]).validate_python(to or [])
    except ValidationError:
        console.print(f"[red]error:[/] --to takes e-mail addresses, got {to}", highlight=False)
        raise typer.Exit(2) from None
    recipients = tuple(to or (reports.sites.get(site, []) if site else reports.chain))
    if not recipients:
        where = f"reports.sites.{site}" if site else "reports.chain"
        console.print(
            f"[red]error:[/] nobody to send to: list addresses under {where} or pass --to"
        )
        raise typer.Exit(2)
    job = Job("weekly" if weekly else "daily", site, recipients)
    today = datetime.now(settings.zone_of(site or "")).date()
    mailer = Mailer.from_settings(settings, _engine(config))
    try:
        mailer.mail(job, period(settings, job, today))
    except MailError as exc:
        console.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from None
    console.print(f"sent {job.what} to {', '.join(recipients)}", highlight=False)
