"""The daily and weekly e-mails, sent by a thread inside ``greetcue dashboard``.

Inside the dashboard rather than a cron job: each site's report goes out at its own local
time (a chain spans time zones, a timer has one), there is no second unit to install, and
the sending shares the dashboard's configuration and database. What was sent is kept in the
state folder, so a restart neither repeats a report nor, within ``reports.catch_up_h``,
misses one. A failure is logged with its fix and tried again with a doubling wait; nothing
here can stop the dashboard.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import urlencode

from sqlalchemy import Engine

from dashboard.analytics import Filters
from dashboard.reports.figures import gather
from dashboard.reports.mail import MailError, compose, send
from dashboard.reports.pdf import report_pdf
from dashboard.saved_goals import GoalsCache
from dashboard.settings import DashboardConfig

log = logging.getLogger("greetcue.dashboard.reports")
WEEKDAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
PERIOD_DAYS = {"daily": 1, "weekly": 7}
MAX_WAIT_S = 3600.0  # wake at least hourly (a clock change, a stop)
SENT_FILE = "reports-sent.json"
Sender = Callable[[EmailMessage], None]


@dataclass(frozen=True)
class Job:
    """One report that goes out on a schedule: its kind, its site (None: the chain) and who
    gets it."""

    kind: str  # daily / weekly
    site: str | None
    to: tuple[str, ...]

    @property
    def key(self) -> str:
        return f"{self.kind}/{self.site or '*'}"

    @property
    def what(self) -> str:
        return f"the {self.kind} report of {self.site or 'all sites'}"


def jobs(settings: DashboardConfig) -> list[Job]:
    """Every scheduled report of the configuration."""
    reports = settings.reports
    kinds = [kind for kind, on in (("daily", reports.daily), ("weekly", reports.weekly)) if on]
    scopes: list[tuple[str | None, list[str]]] = [(None, reports.chain)]
    scopes += [(site, to) for site, to in sorted(reports.sites.items())]
    return [Job(kind, site, tuple(to)) for kind in kinds for site, to in scopes if to]


def send_day(settings: DashboardConfig, job: Job, now_s: float) -> date:
    """The local date of the job's latest send time at or before ``now_s``."""
    reports = settings.reports
    now = datetime.fromtimestamp(now_s, settings.zone_of(job.site or ""))
    day = now.date() if now.time() >= reports.send_at else now.date() - timedelta(days=1)
    if job.kind == "weekly":
        day -= timedelta(days=(day.weekday() - WEEKDAYS.index(reports.weekly_on)) % 7)
    return day


def send_time(settings: DashboardConfig, job: Job, day: date) -> float:
    """UTC seconds of the job's send time on local date ``day``."""
    zone = settings.zone_of(job.site or "")
    return datetime.combine(day, settings.reports.send_at, zone).timestamp()


def period(settings: DashboardConfig, job: Job, day: date) -> Filters:
    """What the report sent on ``day`` covers: the day, or the 7 days, before it."""
    zone = settings.zone_of(job.site or "")
    first = day - timedelta(days=PERIOD_DAYS[job.kind])
    return Filters(
        start_s=datetime.combine(first, datetime.min.time(), zone).timestamp(),
        end_s=datetime.combine(day, datetime.min.time(), zone).timestamp(),
        site=job.site,
    )


class Mailer:
    """Makes and sends one report's e-mail from the store."""

    def __init__(self, settings: DashboardConfig, engine: Engine, sender: Sender) -> None:
        self._settings, self._engine, self._send = settings, engine, sender
        self._goals = GoalsCache(settings)

    @classmethod
    def from_settings(cls, settings: DashboardConfig, engine: Engine) -> Mailer:
        """A mailer sending through ``reports.smtp``."""
        smtp = settings.reports.smtp
        assert smtp is not None, "reports are mailed only with reports.smtp set"
        return cls(settings, engine, lambda message: send(smtp, message))

    def mail(self, job: Job, filters: Filters) -> None:
        """The report of ``filters`` to the job's recipients, against the goals in force."""
        with self._engine.connect() as connection:
            _, config, analytics = self._goals.current(connection)
            ack = gather(connection, analytics, config, filters)
        pdf = report_pdf(ack, datetime.now(self._settings.zone_of(job.site or "")))
        message = compose(
            self._settings.reports,
            list(job.to),
            ack,
            job.kind,
            pdf,
            self._link(ack.filters, ack.first, ack.last),
        )
        self._send(message)

    def _link(self, filters: Filters, first: date, last: date) -> str | None:
        base = self._settings.listen.public_url
        if not base:
            return None
        query = {"site": filters.site or "", "start": first.isoformat(), "end": last.isoformat()}
        return f"{base.rstrip('/')}/acks?{urlencode(query)}"


@dataclass
class _Retry:
    day: date
    tries: int
    next_s: float


class ReportScheduler:
    """Sends each job's report once per period, at its send time, on its own thread."""

    def __init__(self, settings: DashboardConfig, mailer: Mailer, sent_file: Path) -> None:
        self._settings, self._mailer, self._file = settings, mailer, sent_file
        self._jobs = jobs(settings)
        self._retries: dict[str, _Retry] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="greetcue-reports", daemon=True)

    @classmethod
    def from_settings(cls, settings: DashboardConfig, engine: Engine) -> ReportScheduler:
        """The scheduler of the configured reports, sending through the configured server."""
        mailer = Mailer.from_settings(settings, engine)
        return cls(settings, mailer, settings.folder() / SENT_FILE)

    def start(self) -> ReportScheduler:
        self._thread.start()
        log.info(
            "reports: %d scheduled e-mail(s) at %s local time",
            len(self._jobs),
            self._settings.reports.send_at.isoformat("minutes"),
        )
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _loop(self) -> None:
        wait_s = 0.0
        while not self._stop.wait(wait_s):
            try:
                wait_s = self.run_once(time.time())
            except Exception:  # never let a report stop the dashboard
                log.exception("reports: the scheduler failed; it tries again in an hour")
                wait_s = MAX_WAIT_S

    def run_once(self, now_s: float) -> float:
        """Send every report due at ``now_s`` and not sent yet; seconds until the next one
        may be due."""
        sent = self._sent()
        wake = [now_s + MAX_WAIT_S]
        for job in self._jobs:
            day = send_day(self._settings, job, now_s)
            wake.append(self._next_send(job, day))
            if sent.get(job.key) == day.isoformat():
                continue
            retry = self._retries.get(job.key)
            if retry is None or retry.day != day:
                late_s = now_s - send_time(self._settings, job, day)
                if late_s > self._settings.reports.catch_up_h * 3600:
                    continue  # missed long ago: the next period's report comes as usual
                retry = self._retries[job.key] = _Retry(day, 0, now_s)
            if retry.tries > self._settings.reports.retries:
                continue  # given up for this period
            if retry.next_s > now_s:
                wake.append(retry.next_s)
                continue
            if self._try(job, day, retry, now_s):
                sent[job.key] = day.isoformat()
                self._save(sent)
                del self._retries[job.key]
            elif retry.tries <= self._settings.reports.retries:
                wake.append(retry.next_s)
        return max(1.0, min(wake) - now_s)

    def _try(self, job: Job, day: date, retry: _Retry, now_s: float) -> bool:
        filters = period(self._settings, job, day)
        try:
            self._mailer.mail(job, filters)
        except MailError as exc:
            problem = str(exc)
        except Exception as exc:  # a bug or the database: logged in full, tried again
            log.exception("reports: making %s failed", job.what)
            problem = f"making the report failed ({exc.__class__.__name__})"
        else:
            log.info("reports: sent %s (%s) to %s", job.what, day, ", ".join(job.to))
            return True
        retry.tries += 1
        allowed = self._settings.reports.retries
        if retry.tries > allowed:
            log.error(
                "reports: gave up on %s (%s) after %d tries: %s",
                job.what,
                day,
                retry.tries,
                problem,
            )
            return False
        wait_s = self._settings.reports.retry_s * 2 ** (retry.tries - 1)
        retry.next_s = now_s + wait_s
        log.warning(
            "reports: could not send %s (%s): %s; trying again in %.0f min (%d of %d tries left)",
            job.what,
            day,
            problem,
            wait_s / 60,
            allowed - retry.tries + 1,
            allowed + 1,
        )
        return False

    def _next_send(self, job: Job, day: date) -> float:
        step = timedelta(days=PERIOD_DAYS[job.kind])
        return send_time(self._settings, job, day + step)

    def _sent(self) -> dict[str, str]:
        """Which period each job last sent (its send date); a lost file loses only that."""
        try:
            data = json.loads(self._file.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("reports: %s is unreadable (%s); starting afresh", self._file, exc)
            return {}
        return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}

    def _save(self, sent: dict[str, str]) -> None:
        spare = self._file.with_suffix(".tmp")
        spare.write_text(json.dumps(sent, indent=1, sort_keys=True))
        spare.replace(self._file)
