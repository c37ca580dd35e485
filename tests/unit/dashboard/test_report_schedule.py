"""When the report e-mails go out and what they cover: each site at its own local time, the
weekly one on its day, a report missed while the dashboard was down caught up only when
recent; a mail server that cannot be reached is logged, never raised; and the settings refuse
what would fail later."""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from dashboard.reports.schedule import Job, Mailer, ReportScheduler, jobs, period, send_day
from dashboard.settings import DashboardConfig, SettingsError, Smtp, load_settings
from edge.service.delivery.broker import free_port
from tests.support.dashboard_support import migrated_engine

SMTP = {"host": "127.0.0.1", "port": 2525, "security": "none"}


def config(tmp_path: Path, **reports: Any) -> DashboardConfig:
    values = {"smtp": SMTP, "sender": "r@store.example", "chain": ["ops@chain.example"]}
    sites = {"store-ny": {"timezone": "America/New_York"}}
    return DashboardConfig(state_dir=tmp_path, sites=sites, reports=values | reports)


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


@pytest.mark.parametrize(
    ("now", "site", "kind", "sent_on", "first", "last"),
    [
        ("2026-11-21 07:00", None, "daily", "2026-11-21", "2026-11-20", "2026-11-20"),
        ("2026-11-21 06:59", None, "daily", "2026-11-20", "2026-11-19", "2026-11-19"),
        # 07:30 UTC is 02:30 in New York: its 07:00 comes later, so its last report is Friday's
        ("2026-11-21 07:30", "store-ny", "daily", "2026-11-20", "2026-11-19", "2026-11-19"),
        ("2026-11-21 12:00", "store-ny", "daily", "2026-11-21", "2026-11-20", "2026-11-20"),
        ("2026-11-25 09:00", None, "weekly", "2026-11-23", "2026-11-16", "2026-11-22"),
        ("2026-11-23 06:00", None, "weekly", "2026-11-16", "2026-11-09", "2026-11-15"),
    ],
)
def test_each_report_covers_the_period_before_its_local_send_time(
    tmp_path: Path, now: str, site: str | None, kind: str, sent_on: str, first: str, last: str
) -> None:
    settings = config(tmp_path)
    job = Job(kind, site, ("a@b.example",))
    day = send_day(settings, job, at(now))
    assert day == date.fromisoformat(sent_on)
    covered = period(settings, job, day)
    zone = settings.zone_of(site or "")
    assert datetime.fromtimestamp(covered.start_s, zone).date().isoformat() == first
    assert datetime.fromtimestamp(covered.end_s - 1, zone).date().isoformat() == last
    assert covered.site == site


def test_jobs_are_the_chain_and_each_site_with_recipients(tmp_path: Path) -> None:
    settings = config(tmp_path, sites={"store-1": ["m@one.example"], "store-2": []}, weekly=False)
    assert [(j.kind, j.site, j.to) for j in jobs(settings)] == [
        ("daily", None, ("ops@chain.example",)),
        ("daily", "store-1", ("m@one.example",)),
    ]


class Outbox:
    def __init__(self) -> None:
        self.sent: list[EmailMessage] = []

    def __call__(self, message: EmailMessage) -> None:
        self.sent.append(message)


def scheduler(settings: DashboardConfig, sender: Any) -> ReportScheduler:
    engine = migrated_engine(settings)
    mailer = Mailer(settings, engine, sender)
    return ReportScheduler(settings, mailer, settings.folder() / "sent.json")


def test_a_report_missed_long_ago_is_not_sent_late(tmp_path: Path) -> None:
    settings = config(tmp_path, weekly=False, catch_up_h=2)
    outbox = Outbox()
    scheduler(settings, outbox).run_once(at("2026-11-21 10:00"))  # 3 h after 07:00
    assert outbox.sent == []
    scheduler(settings, outbox).run_once(at("2026-11-22 08:30"))
    assert ["Sat 21 Nov 2026" in m["Subject"] for m in outbox.sent] == [True]


def test_an_unreachable_mail_server_is_logged_and_never_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    from dashboard.reports.mail import send

    smtp = Smtp(host="127.0.0.1", port=free_port(), security="none", timeout_s=5)
    settings = config(tmp_path, smtp=smtp.model_dump(), weekly=False, retries=1)
    mails = scheduler(settings, lambda message: send(smtp, message))
    with caplog.at_level(logging.WARNING, "greetcue.dashboard.reports"):
        wait_s = mails.run_once(at("2026-11-21 07:00"))
        mails.run_once(at("2026-11-21 07:00") + wait_s)
        mails.run_once(at("2026-11-21 07:00") + 3 * wait_s)
    assert "cannot reach the mail server" in caplog.text and "reports.smtp.host" in caplog.text
    assert "gave up on the daily report of all sites" in caplog.text


@pytest.mark.parametrize(
    ("reports", "says"),
    [
        ({"smtp": SMTP | {"username": "u"}}, "unencrypted"),
        ({"smtp": SMTP, "chain": ["ops@chain.example"]}, "reports.sender"),
        ({"smtp": SMTP, "sender": "r@store.example"}, "no recipients"),
        ({"chain": ["not an address"]}, "reports.chain"),
        ({"smtp": SMTP | {"password": "secret"}}, "password"),
    ],
)
def test_report_settings_refuse_what_would_fail_later(
    tmp_path: Path, reports: dict[str, Any], says: str
) -> None:
    path = tmp_path / "dashboard.yaml"
    import yaml

    path.write_text(yaml.safe_dump({"reports": reports}))
    with pytest.raises(SettingsError, match=says):
        load_settings(path)


def test_the_dashboard_runs_the_scheduler_only_with_reports_set_up(tmp_path: Path) -> None:
    import threading

    from fastapi.testclient import TestClient

    from dashboard.web.app import create_app

    def running() -> bool:
        return any(thread.name == "greetcue-reports" for thread in threading.enumerate())

    closed = {"smtp": {**SMTP, "port": free_port()}, "retries": 0}
    for settings, expected in (
        (DashboardConfig(state_dir=tmp_path / "off"), False),
        (config(tmp_path / "on", **closed), True),
    ):
        engine = migrated_engine(settings)
        with TestClient(create_app(settings, engine, ingest=False)) as client:
            assert client.get("/healthz").status_code == 200  # a failing mail stops nothing
            assert running() is expected
        assert not running()
