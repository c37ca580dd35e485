"""The dashboard's configuration: one YAML file, validated, every threshold with a default.

The dashboard shares nothing with the edge but the MQTT contract, so it has its own small
configuration model (``greetcue dashboard --config dashboard.yaml``).
"""

from __future__ import annotations

import os
import ssl
from datetime import time
from pathlib import Path
from typing import Annotated, Literal, Self
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import platformdirs
import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    FilePath,
    ValidationError,
    model_validator,
)

from edge.contract import DEFAULT_PREFIX, ContractError, Name, Topic, parse_topic
from edge.plumbing.config_errors import invalid

STATE_ENV = "GREETCUE_STATE_DIR"
SITE_LEVEL = "{site}"  # in broker.prefix: the level that names the store (a chain's bridges)


class SettingsError(ValueError):
    """The dashboard configuration is missing, unreadable or invalid."""


class Strict(BaseModel):
    """Unknown keys are errors; values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _topic_prefix(value: str) -> str:
    for level in value.split("/"):
        if level != SITE_LEVEL and (not level or any(c in level for c in "+#{}")):
            raise ValueError(
                f"{level!r} is no valid topic level here; use names without + # {{ }} and no "
                "empty level, and {site} for the store level (e.g. stores/{site}/greetcue)"
            )
    return value


TopicPrefix = Annotated[str, AfterValidator(_topic_prefix)]


class BrokerTls(Strict):
    """TLS to the broker."""

    ca_file: Path | None = Field(None, description="CA bundle; default: the system's")
    cert_file: Path | None = Field(None, description="client certificate (mutual TLS)")
    key_file: Path | None = Field(None, description="client key (mutual TLS)")


class Broker(Strict):
    """The MQTT broker the edges publish to (a store's, or the chain's central one)."""

    host: str = Field("localhost", min_length=1, description="broker host name or address")
    port: int = Field(1883, ge=1, le=65535, description="broker TCP port")
    prefix: TopicPrefix = Field(
        DEFAULT_PREFIX,
        description="topic levels before the site: the edges' prefix, or on a chain's central "
        "broker the stores' bridge prefix with {site} for the level naming the store, e.g. "
        "stores/{site}/greetcue (a message whose {site} level is not its site is refused)",
    )
    client_id: str = Field("greetcue-dashboard", min_length=1, description="MQTT client id")
    username: str | None = Field(None, description="broker user name")
    password_env: str = Field(
        "GREETCUE_DASHBOARD_MQTT_PASSWORD",
        description="environment variable holding the broker password (never in this file)",
    )
    tls: BrokerTls | None = Field(None, description="TLS settings; none: plain TCP")
    shared_group: Name | None = Field(
        None,
        description="MQTT 5 shared-subscription group: several dashboards with the same group "
        "share the ingest load (each message goes to one of them)",
    )

    def password(self) -> str | None:
        """The broker password from the environment, if set."""
        return os.environ.get(self.password_env) or None

    @property
    def prefix_filter(self) -> str:
        """The prefix as a subscription filter: every store's ``{site}`` level is ``+``."""
        return self.prefix.replace(SITE_LEVEL, "+")

    def parse_topic(self, topic: str) -> tuple[Topic, dict[str, str]] | None:
        """Which greetcue topic this is under the prefix and its names; ``None`` for any
        other topic. ``ContractError`` when its ``{site}`` level names another site."""
        pattern, levels = self.prefix.split("/"), topic.split("/")
        stores = set()
        for want, got in zip(pattern, levels, strict=False):
            if want == SITE_LEVEL:
                stores.add(got)
            elif want != got:
                return None
        found = parse_topic("/".join([DEFAULT_PREFIX, *levels[len(pattern) :]]))
        if found is not None and stores - {found[1]["site"]}:
            raise ContractError(
                f"the store level {sorted(stores)[0]!r} differs from the site "
                f"{found[1]['site']!r}: a store publishes only its own site (check that "
                "store's bridge topic lines)"
            )
        return found

    def ack_topic(self, site: str, device: str) -> str:
        """Where ``device``'s ack for ``site`` goes (under that store's prefix on a central
        broker)."""
        levels = self.prefix.replace(SITE_LEVEL, site).split("/")
        ack = Topic.ACK.build(prefix=levels[-1], site=site, device=device)
        return "/".join([*levels[:-1], ack])


class Daypart(Strict):
    """A part of the trading day with its own acknowledgement goal."""

    name: Name = Field(description="daypart name shown on the pages")
    start: time = Field(description="local start time, on the hour (HH:00)")
    end: time = Field(
        description="local end time, on the hour (HH:00, exclusive); 00:00 means midnight"
    )
    goal_s: float = Field(gt=0, le=600, description="acknowledge within this many seconds")

    @model_validator(mode="after")
    def _on_the_hour(self) -> Self:
        if problem := off_the_hour(self):
            raise ValueError(
                f"{problem}; dayparts start and end on the hour, as figures are kept per local hour"
            )
        return self


def off_the_hour(part: Daypart) -> str | None:
    """What keeps ``part`` off whole hours, with the nearest hours to use instead."""
    for which, at in (("starts", part.start), ("ends", part.end)):
        if at.minute or at.second or at.microsecond:
            later = time((at.hour + 1) % 24)
            return (
                f"daypart {part.name!r} {which} at {at.isoformat('minutes')}: use "
                f"{time(at.hour).isoformat('minutes')} or {later.isoformat('minutes')}"
            )
    return None


MAX_DAYPARTS = 24  # on the hour, a day has room for no more


def coverage_gap(dayparts: list[Daypart]) -> str | None:
    """The first local time that is in no daypart or in two, in words; ``None`` when the
    dayparts cover the day once."""
    minutes = [0] * (24 * 60)
    for part in dayparts:
        start = part.start.hour * 60 + part.start.minute
        end = part.end.hour * 60 + part.end.minute or 24 * 60
        span = range(start, end) if end > start else [*range(start, 24 * 60), *range(end)]
        for m in span:
            minutes[m] += 1
    gap = next((m for m, count in enumerate(minutes) if count != 1), None)
    if gap is None:
        return None
    what = "is in no daypart" if minutes[gap] == 0 else "is in two dayparts"
    return f"{gap // 60:02d}:{gap % 60:02d} {what}"


def _default_dayparts() -> list[Daypart]:
    return [
        Daypart(name="morning", start=time(0), end=time(11), goal_s=10),
        Daypart(name="lunch", start=time(11), end=time(14), goal_s=8),
        Daypart(name="afternoon", start=time(14), end=time(17), goal_s=10),
        Daypart(name="evening", start=time(17), end=time(0), goal_s=10),
    ]


class Goals(Strict):
    """What 'fast enough' means (until a manager saves goals on the Settings page, which rule).

    Green, amber or red follow the service level and its amber margin."""

    dayparts: list[Daypart] = Field(
        default_factory=_default_dayparts,
        min_length=1,
        max_length=MAX_DAYPARTS,
        description="cover the day without gaps, each starting and ending on the hour; each "
        "has its acknowledgement goal",
    )
    service_level: float = Field(
        0.8, gt=0, le=1, description="share of customers to acknowledge within the goal"
    )
    amber_margin: float = Field(
        0.1, ge=0, le=1, description="service level this far below target is amber, not red"
    )
    before_zones: list[Name] = Field(
        default_factory=lambda: ["5ft", "3ft"],
        max_length=8,
        description="zones for 'acknowledged before the customer reached it'",
    )

    @model_validator(mode="after")
    def _cover_the_day(self) -> Self:
        names = [part.name for part in self.dayparts]
        if twice := sorted({name for name in names if names.count(name) > 1}):
            raise ValueError(f"goals.dayparts: {twice[0]!r} names two dayparts; name each once")
        if gap := coverage_gap(self.dayparts):
            raise ValueError(
                f"goals.dayparts: {gap}; make the parts cover the day once (end of one = "
                "start of the next)"
            )
        return self

    def goal_for(self, minute_of_day: int) -> Daypart:
        """The daypart a local minute of the day falls in."""
        for part in self.dayparts:
            start = part.start.hour * 60 + part.start.minute
            end = part.end.hour * 60 + part.end.minute or 24 * 60
            inside = (
                start <= minute_of_day < end
                if end > start
                else (minute_of_day >= start or minute_of_day < end)
            )
            if inside:
                return part
        raise AssertionError("dayparts cover the day (checked at load)")


def _known_zone(value: str) -> str:
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {value!r}; use an IANA name such as Europe/London"
        ) from None
    return value


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]


class Site(Strict):
    """One store."""

    timezone: TimeZoneName = Field("UTC", description="IANA time zone the store's times use")
    title: str | None = Field(None, description="name shown on pages; default: the site name")


class Listen(Strict):
    """Where the web server listens, and whether it serves HTTPS itself."""

    host: str = Field("127.0.0.1", description="address; 0.0.0.0 for the store LAN")
    port: int = Field(8080, ge=0, le=65535, description="TCP port")
    public_url: str | None = Field(
        None, description="URL staff phones reach the dashboard at (for staff links)"
    )
    tls_cert: FilePath | None = Field(
        None,
        description="PEM certificate (chain) to serve HTTPS with, beside tls_key; cookies are "
        "then Secure by themselves. None: plain HTTP (or TLS at a proxy: security.secure_cookies)",
    )
    tls_key: FilePath | None = Field(None, description="unencrypted PEM private key of tls_cert")
    tls_ca: FilePath | None = Field(
        None,
        description="PEM certificate of the local authority that signed tls_cert (made by "
        "`greetcue dashboard tls`): offered to phones at /trust, with the steps to trust it",
    )
    hsts_s: int = Field(
        31_536_000,
        ge=0,
        le=63_072_000,
        description="over HTTPS, browsers keep to HTTPS for this many seconds "
        "(Strict-Transport-Security); 0: not sent",
    )

    @model_validator(mode="after")
    def _tls_loads(self) -> Self:
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError(
                "listen.tls_cert and listen.tls_key go together: set both (HTTPS) or neither"
            )
        if self.tls_ca is not None and self.tls_cert is None:
            raise ValueError("listen.tls_ca is offered only with tls_cert and tls_key set")
        if self.tls_ca is not None:
            try:
                ssl.create_default_context(cafile=self.tls_ca)
            except (ssl.SSLError, OSError) as exc:
                raise ValueError(
                    f"listen.tls_ca {self.tls_ca} does not load as a PEM certificate ({exc})"
                ) from None
        if self.tls_cert and self.tls_key:
            try:  # an empty password: an encrypted key fails here instead of prompting
                ssl.create_default_context(ssl.Purpose.CLIENT_AUTH).load_cert_chain(
                    self.tls_cert, self.tls_key, password=""
                )
            except (ssl.SSLError, OSError) as exc:
                raise ValueError(
                    f"listen.tls_cert {self.tls_cert} and tls_key {self.tls_key} do not load "
                    f"({exc}); give a PEM certificate and its matching unencrypted PEM key"
                ) from None
        return self

    @property
    def tls(self) -> bool:
        """Whether the dashboard serves HTTPS itself."""
        return self.tls_cert is not None


class Security(Strict):
    """Sessions, logins and links."""

    secret_env: str = Field(
        "GREETCUE_DASHBOARD_SECRET",
        description="environment variable with the session signing key; unset: a key made "
        "once and kept in the state folder",
    )
    session_hours: float = Field(12, gt=0, le=24 * 30, description="manager session lifetime")
    login_attempts: int = Field(
        5,
        ge=1,
        le=100,
        description="login tries allowed per client address per window (a success does not "
        "count); also the failures of one user from one address before its back-off starts",
    )
    login_window_s: float = Field(300, gt=0, description="login rate-limit window")
    login_backoff_max_s: float = Field(
        3600,
        gt=0,
        description="longest wait for one user from one address: past login_attempts "
        "failures the wait doubles from login_window_s up to this (other addresses unaffected)",
    )
    login_hash_threads: int = Field(
        2, ge=1, le=16, description="threads checking passwords (argon2), apart from page work"
    )
    login_hash_queue: int = Field(
        16,
        ge=0,
        le=1000,
        description="logins that may wait for those threads; past it a login is answered 503",
    )
    secure_cookies: bool = Field(False, description="cookies only over HTTPS (set behind TLS)")


PUSH_SERVICES = [
    "fcm.googleapis.com",  # Chrome, Edge, Samsung Internet and most Android browsers
    "updates.push.services.mozilla.com",  # Firefox
    "push.apple.com",  # Safari, and home-screen apps on iOS 16.4 and later
    "notify.windows.com",
]


class Push(Strict):
    """Web Push to staff phones (needs HTTPS and the store's internet to reach the push
    services of the phones' browsers)."""

    enabled: bool = Field(True, description="offer 'Alert me when my screen is off' on staff pages")
    contact: str = Field(
        "mailto:greetcue@example.invalid",
        pattern=r"^(mailto:|https://)\S+$",
        description="how push services reach whoever runs this dashboard (VAPID 'sub': "
        "mailto: or https: URL); set your own",
    )
    endpoint_hosts: list[str] = Field(
        default_factory=lambda: list(PUSH_SERVICES),
        max_length=32,
        description="push services a subscription may point at (a host and its subdomains); "
        "any other endpoint is refused, so a staff link cannot aim the dashboard elsewhere",
    )
    per_device: int = Field(
        10, ge=1, le=100, description="subscriptions kept per device (the oldest go first)"
    )


class Privacy(Strict):
    """What the manager pages show of each person."""

    per_person: bool = Field(
        False,
        description="figures and event rows per staff member (the staff filter, who acked); "
        "off: team figures only, as staff expect unless told otherwise",
    )


class CameraHealth(Strict):
    """When the Overview puts a warning word beside a camera."""

    silent_after_s: float = Field(
        60,
        ge=5,
        le=86_400,
        description="an online camera with no report (metrics) for this long is 'silent'",
    )
    low_fps: float = Field(
        5, ge=0, le=240, description="a camera processing fewer frames per second is 'slow'"
    )
    backlog_events: int = Field(
        100,
        ge=1,
        description="a camera with this many events waiting to be sent (its outbox) is 'behind'",
    )


EMAIL_PATTERN = r"^[^@\s<>,;:\"()\[\]]{1,64}@[A-Za-z0-9-]{1,63}(\.[A-Za-z0-9-]{1,63})+$"
EmailAddress = Annotated[str, Field(max_length=254, pattern=EMAIL_PATTERN)]
Recipients = Annotated[list[EmailAddress], Field(max_length=50)]
Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


class Smtp(Strict):
    """The mail server the reports go out through. The password comes from the environment,
    never from this file."""

    host: str = Field(min_length=1, max_length=253, description="SMTP server host name")
    port: int = Field(587, ge=1, le=65535, description="587 for STARTTLS, 465 for implicit TLS")
    security: Literal["starttls", "tls", "none"] = Field(
        "starttls",
        description="starttls: plain connection upgraded to TLS (port 587); tls: TLS from the "
        "start (port 465); none: no encryption (only a relay on this box or the store LAN)",
    )
    username: str | None = Field(None, max_length=254, description="SMTP login; none: no AUTH")
    password_env: str = Field(
        "GREETCUE_DASHBOARD_SMTP_PASSWORD",
        description="environment variable holding the SMTP password (never in this file)",
    )
    ca_file: FilePath | None = Field(
        None, description="PEM CA bundle to trust the server by; default: the system's"
    )
    timeout_s: float = Field(30, gt=0, le=300, description="seconds to wait on a silent server")

    @model_validator(mode="after")
    def _no_password_in_clear(self) -> Self:
        if self.username and self.security == "none":
            raise ValueError(
                "reports.smtp: a username with security none would send the password "
                "unencrypted; use security: starttls (port 587) or tls (port 465)"
            )
        return self

    def password(self) -> str | None:
        """The SMTP password from the environment, if set."""
        return os.environ.get(self.password_env) or None


class Reports(Strict):
    """Daily and weekly acknowledgement reports by e-mail, per site and for the chain.

    The figures in plain words in the mail, the one-page PDF attached."""

    smtp: Smtp | None = Field(None, description="mail server; none: no e-mails are sent")
    sender: EmailAddress | None = Field(None, description="From address (needed with smtp)")
    sender_name: str = Field("greetcue reports", max_length=80, description="From name")
    chain: Recipients = Field(
        default_factory=list, description="who gets the report of all sites together"
    )
    sites: dict[Name, Recipients] = Field(
        default_factory=dict, description="who gets each site's own report, by site name"
    )
    daily: bool = Field(True, description="send a report of the day before, every day")
    weekly: bool = Field(True, description="send a report of the 7 days before, once a week")
    send_at: time = Field(
        time(7, 0), description="local time (the site's; the chain's: timezone) to send at, HH:MM"
    )
    weekly_on: Weekday = Field("monday", description="day the weekly report goes out")
    retry_s: float = Field(
        300, ge=1, le=86_400, description="first wait before sending a failed report again"
    )
    retries: int = Field(
        6, ge=0, le=100, description="tries after the first (each wait doubles) before giving up"
    )
    catch_up_h: float = Field(
        12,
        ge=0,
        le=168,
        description="a report missed while the dashboard was down is sent on start if its "
        "send time is at most this long past",
    )

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.smtp and not self.sender:
            raise ValueError("reports.sender: set the From address the reports are sent from")
        if self.smtp and not (self.chain or any(self.sites.values())):
            raise ValueError(
                "reports: no recipients; list addresses under reports.chain or reports.sites.<site>"
            )
        return self

    @property
    def enabled(self) -> bool:
        """Whether any report is mailed."""
        return self.smtp is not None and (self.daily or self.weekly)


class DashboardConfig(Strict):
    """Everything the dashboard needs; every key has a default."""

    broker: Broker = Field(default_factory=Broker)
    database: str | None = Field(
        None,
        description="SQLAlchemy URL (postgresql+psycopg://user@host/db); none: SQLite in the "
        "state folder",
    )
    state_dir: Path | None = Field(
        None,
        description="folder for the SQLite database and the session key; default: "
        "$GREETCUE_STATE_DIR or the user's state folder",
    )
    listen: Listen = Field(default_factory=Listen)
    push: Push = Field(default_factory=Push)
    privacy: Privacy = Field(default_factory=Privacy)
    timezone: TimeZoneName = Field("UTC", description="time zone of sites not listed")
    sites: dict[Name, Site] = Field(default_factory=dict, description="per-site settings")
    goals: Goals = Field(default_factory=Goals)
    security: Security = Field(default_factory=Security)
    reports: Reports = Field(default_factory=Reports)
    ingest_batch: int = Field(500, ge=1, le=100_000, description="rows written per transaction")
    ingest_linger_s: float = Field(
        0.01, ge=0, le=1, description="wait this long for more messages before a write"
    )
    ingest_queue: int = Field(
        100_000, ge=100, description="messages held in memory while the database is slow"
    )
    ingest_queue_bytes: int = Field(
        128 * 1024 * 1024,
        ge=256 * 1024,
        description="payload bytes held in memory while the database is slow; past it (or "
        "ingest_queue) the broker holds the rest: QoS 1 messages are acknowledged only once "
        "stored, so the broker sends no more than fit in half of it (at 64 KiB each: 1,024 "
        "by default; fewer slow a drain down: 256 cost it a quarter to a half)",
    )
    retention_months: int = Field(
        13,
        ge=0,
        le=1200,
        description="keep raw events and cue rows this many whole months before the current "
        "one (0: keep everything); the hourly figures are kept regardless. On PostgreSQL a month "
        "is one partition, dropped whole",
    )
    report_max_hours: int = Field(
        500_000,
        ge=1,
        le=100_000_000,
        description="the most camera-hours one report reads (about 2 GB of memory at 500,000); "
        "a longer range over more sites is refused with what to narrow",
    )
    ingest_rollup_s: float = Field(
        2,
        ge=0.1,
        le=600,
        description="roll the changed cues up into their hours this often while events arrive "
        "(a report rolls up what is left before it reads)",
    )
    ingest_stall_s: float = Field(
        30,
        ge=1,
        le=3600,
        description="a write making no progress this long (database down, locked or very "
        "slow) turns /healthz to 503 and stops the systemd watchdog",
    )
    recent_events: int = Field(50, ge=1, le=1000, description="events on the overview")
    camera_health: CameraHealth = Field(default_factory=CameraHealth)
    zone_colours: dict[Name, str] = Field(
        default_factory=lambda: {"10ft": "#2e7dd7", "5ft": "#f0a500", "3ft": "#e0383e"},
        description="staff page flash colour per zone (CSS colours)",
    )

    def folder(self, create: bool = True) -> Path:
        """The state folder (created owner-only, unless ``create`` is false)."""
        folder = self.state_dir or Path(
            os.environ.get(STATE_ENV) or platformdirs.user_state_dir("greetcue")
        )
        if create:
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        return folder

    def database_url(self, create: bool = True) -> str:
        """The database URL; SQLite in the state folder by default (``create``: the folder)."""
        return self.database or f"sqlite:///{self.folder(create) / 'dashboard.sqlite3'}"

    def zone_of(self, site: str) -> ZoneInfo:
        """The time zone a site's times are shown in."""
        entry = self.sites.get(site)
        return ZoneInfo(entry.timezone if entry else self.timezone)


def load_settings(path: Path | None) -> DashboardConfig:
    """The configuration in ``path`` (``None``: all defaults), or a ``SettingsError`` naming
    each bad key."""
    if path is None:
        return DashboardConfig()
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError:
        raise SettingsError(f"config file {path} does not exist; check --config") from None
    except (OSError, yaml.YAMLError) as exc:
        raise SettingsError(f"config file {path} cannot be read: {exc}") from None
    if not isinstance(data, dict):
        raise SettingsError(f"{path}: the top level must be a mapping of keys")
    try:
        return DashboardConfig.model_validate(data)
    except ValidationError as exc:
        raise SettingsError(invalid(str(path), exc)) from None
