"""The daily and weekly e-mails against a real SMTP server (aiosmtpd, STARTTLS and implicit
TLS with a throwaway authority, AUTH): who gets which report, the subject, the figures in the
text and HTML bodies as the report has them, a one-page PDF attached; a failure is logged with
its fix and tried again, and a report is sent once per period, across restarts."""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine

from dashboard.analytics import Analytics, Filters
from dashboard.reports.schedule import ReportScheduler
from dashboard.settings import DashboardConfig
from dashboard.store import writes
from tests.support.dashboard_support import Customer, manager_store
from tests.support.pdf_pages import read_pdf
from tests.support.smtp_server import PASSWORD, PASSWORD_ENV, SmtpServer

FRIDAY = datetime(2026, 11, 20, tzinfo=UTC).timestamp()
SATURDAY_MORNING = datetime(2026, 11, 21, 7, 5, tzinfo=UTC).timestamp()  # after 07:00
CHAIN = ["ops@chain.example"]
STORE_1 = ["manager@store1.example", "deputy@store1.example"]


def store_customers(engine: Engine) -> None:
    """Friday at two sites, and Thursday at store-1 (the period before)."""
    events = []
    friday = [("store-1", 2.0, 0), ("store-1", 4.0, 0), ("store-1", 12.0, 0), ("store-2", 3.0, 0)]
    thursday = [("store-1", 6.0, -1), ("store-1", 9.0, -1)]
    for i, (site, latency, day) in enumerate([*friday, *thursday]):
        customer = Customer(FRIDAY + day * 86400 + 11 * 3600 + i * 60, site=site, track_id=i)
        events += [customer.cue(), customer.ack(latency)]
    left = Customer(FRIDAY + 15 * 3600, site="store-1", track_id=99)
    events += [left.cue(), left.left(30.0)]
    with engine.begin() as connection:
        writes.store_events(connection, [writes.Received(e, FRIDAY) for e in events])


def reports_store(folder: Path, server: SmtpServer, **smtp: Any) -> tuple[DashboardConfig, Engine]:
    reports = {
        "smtp": server.settings(**smtp),
        "sender": "reports@store.example",
        "chain": CHAIN,
        "sites": {"store-1": STORE_1},
        "weekly_on": "monday",
        "retry_s": 60,
        "retries": 2,
    }
    sites = {"store-1": {"title": "High Street"}}
    config, engine = manager_store(folder, reports=reports, sites=sites)
    store_customers(engine)
    return config, engine


def scheduler(config: DashboardConfig, engine: Engine) -> ReportScheduler:
    return ReportScheduler.from_settings(config, engine)


def parts(message: EmailMessage) -> tuple[str, str, bytes]:
    """The text body, the HTML body and the attached PDF."""
    text = message.get_body(("plain",))
    html = message.get_body(("html",))
    attached = [part for part in message.iter_attachments()]
    assert text is not None and html is not None and len(attached) == 1
    assert attached[0].get_content_type() == "application/pdf"
    pdf = attached[0].get_content()
    assert isinstance(pdf, bytes)
    return text.get_content(), html.get_content(), pdf


def test_each_recipient_gets_the_report_of_their_site_with_its_figures(
    smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    config, engine = reports_store(tmp_path, smtp_server)
    scheduler(config, engine).run_once(SATURDAY_MORNING)
    by_recipients = {tuple(sorted(mail.recipients)): mail for mail in smtp_server.mails}
    assert set(by_recipients) == {tuple(CHAIN), tuple(sorted(STORE_1))}
    analytics = Analytics(config)
    for to, site, scope in ((CHAIN, None, "All sites"), (STORE_1, "store-1", "High Street")):
        mail = by_recipients[tuple(sorted(to))]
        assert mail.sender == "reports@store.example"
        subject = mail.message["Subject"]
        assert subject.startswith(f"Daily acknowledgement report: {scope}, Fri 20 Nov 2026")
        filters = Filters(FRIDAY, FRIDAY + 86400, site=site)
        with engine.connect() as connection:
            now = analytics.report(connection, filters).overall
            before = analytics.report(connection, filters.previous()).overall
        text, html, pdf = parts(mail.message)
        assert now.within_goal is not None and now.p50_s is not None
        assert f"{now.within_goal * 100:.0f} % within the goal" in subject
        for expected in (
            f"Customers: {now.customers} ({before.customers} the day before",
            f"Typical wait: {now.p50_s:.1f} s ({before.p50_s:.1f} s the day before",
            f"9 in 10 customers within: {now.p90_s:.1f} s ({before.p90_s:.1f} s the day before",
            f"Acknowledged within the goal: {now.within_goal * 100:.0f} %",
            f"Left before anyone acknowledged: {now.left} ({before.left} the day before",
        ):
            assert expected in text, expected
        assert f">{now.p50_s:.1f} s</b>" in html and f">{now.p90_s:.1f} s</b>" in html
        pages, page_text, _ = read_pdf(pdf)
        assert pages == 1
        assert f"{scope}" in page_text and f"{now.p50_s:.1f} s" in page_text


def test_a_report_goes_out_once_per_period_across_restarts(
    smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    config, engine = reports_store(tmp_path, smtp_server)
    first = scheduler(config, engine)
    wait_s = first.run_once(SATURDAY_MORNING)
    assert len(smtp_server.mails) == 2
    assert 0 < wait_s <= 3600  # it wakes again within the hour
    first.run_once(SATURDAY_MORNING + 600)
    scheduler(config, engine).run_once(SATURDAY_MORNING + 1200)  # a restarted dashboard
    assert len(smtp_server.mails) == 2
    scheduler(config, engine).run_once(SATURDAY_MORNING + 86400)  # Sunday: Saturday's report
    subjects = sorted(mail.message["Subject"] for mail in smtp_server.mails[2:])
    assert len(subjects) == 2 and all("Sat 21 Nov 2026" in s for s in subjects)
    monday = SATURDAY_MORNING + 2 * 86400
    scheduler(config, engine).run_once(monday)
    weekly = [m.message["Subject"] for m in smtp_server.mails if "Weekly" in m.message["Subject"]]
    assert len(weekly) == 2 and all(
        "Mon 16 Nov - Sun 22 Nov 2026".replace("-", "\N{EN DASH}") in s for s in weekly
    )


def test_a_refused_login_is_logged_with_the_fix_and_tried_again(
    smtp_server: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "an old password")
    config, engine = reports_store(tmp_path, smtp_server)
    mails = scheduler(config, engine)
    with caplog.at_level(logging.WARNING, "greetcue.dashboard.reports"):
        wait_s = mails.run_once(SATURDAY_MORNING)
    assert smtp_server.mails == []
    assert "refused the login" in caplog.text and PASSWORD_ENV in caplog.text
    assert wait_s == pytest.approx(60)  # reports.retry_s
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    mails.run_once(SATURDAY_MORNING + 30)  # not yet: the retry waits
    assert smtp_server.mails == []
    mails.run_once(SATURDAY_MORNING + wait_s)
    assert len(smtp_server.mails) == 2


def test_an_untrusted_certificate_is_refused_with_the_fix(
    smtp_server: SmtpServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    config, engine = reports_store(tmp_path, smtp_server, ca_file=None)  # the system's CAs
    with caplog.at_level(logging.WARNING, "greetcue.dashboard.reports"):
        scheduler(config, engine).run_once(SATURDAY_MORNING)
    assert smtp_server.mails == []
    assert "does not trust" in caplog.text and "reports.smtp.ca_file" in caplog.text


def test_report_send_mails_one_now_or_exits_with_the_fix(
    smtp_server: SmtpServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import yaml
    from typer.testing import CliRunner

    from edge.cli import app

    config, _engine = reports_store(tmp_path, smtp_server)
    path = tmp_path / "dashboard.yaml"
    path.write_text(yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True)))
    command = ["dashboard", "report", "send", "--config", str(path), "--weekly"]
    monkeypatch.setenv(PASSWORD_ENV, "wrong")
    refused = CliRunner().invoke(app, [*command, "--site", "store-1"])
    assert refused.exit_code == 1 and "refused the login" in refused.output
    monkeypatch.setenv(PASSWORD_ENV, PASSWORD)
    sent = CliRunner().invoke(app, [*command, "--to", "test@store.example"])
    assert sent.exit_code == 0, sent.output
    (mail,) = smtp_server.mails
    assert mail.recipients == ["test@store.example"]
    assert mail.message["Subject"].startswith("Weekly acknowledgement report: All sites")
