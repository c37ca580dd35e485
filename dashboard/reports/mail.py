"""A report as an e-mail (the plain figures as text and HTML, the PDF attached) and its
sending over SMTP with STARTTLS or implicit TLS. Every failure becomes a ``MailError`` that
says what to fix, so the scheduler logs it and tries again instead of failing."""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Callable
from email.message import EmailMessage
from email.utils import formataddr, make_msgid
from html import escape
from typing import Any

from dashboard.reports.figures import Acknowledgement, detail_words, lines, share
from dashboard.settings import Reports, Smtp


class MailError(Exception):
    """A report could not be sent; the message names the cause and the fix."""


def subject(ack: Acknowledgement, kind: str) -> str:
    """'Daily acknowledgement report: High Street, Fri 4 Dec 2026: 84 % within the goal'."""
    level = share(ack.report.overall.within_goal)
    what = f"{kind.capitalize()} acknowledgement report"
    return f"{what}: {ack.scope}, {ack.period}: {level} within the goal"


def compose(
    reports: Reports,
    to: list[str],
    ack: Acknowledgement,
    kind: str,
    pdf: bytes,
    link: str | None,
) -> EmailMessage:
    """The e-mail of one report: text and HTML bodies with the same figures, the PDF
    attached."""
    message = EmailMessage()
    message["Subject"] = subject(ack, kind)
    message["From"] = formataddr((reports.sender_name, reports.sender or ""))
    message["To"] = ", ".join(to)
    message["Message-ID"] = make_msgid(domain=(reports.sender or "@greetcue").split("@")[1])
    message.set_content(_text(ack, link))
    message.add_alternative(_html(ack, link), subtype="html")
    name = f"acknowledgement-{kind}-{ack.filters.site or 'all-sites'}-{ack.first}.pdf"
    message.add_attachment(pdf, maintype="application", subtype="pdf", filename=name)
    return message


def _text(ack: Acknowledgement, link: str | None) -> str:
    rows = [
        f"{line.label}: {line.value} ({line.previous} {ack.before}; {line.detail})"
        for line in lines(ack)
    ]
    return "\n".join(
        [
            f"Acknowledgement report for {ack.scope}, {ack.period}",
            "How long customers waited from the staff cue to an acknowledgement.",
            "",
            *rows,
            "",
            f"In detail: {detail_words(ack)}. Times in {ack.zone}.",
            "The full report is attached as a PDF."
            + (f" On the dashboard: {link}" if link else ""),
        ]
    )


RAG_HTML = {"green": "#1a7f37", "amber": "#9a6700", "red": "#c62828"}


def _html(ack: Acknowledgement, link: str | None) -> str:
    pad = "padding:4px 14px 4px 0"
    cell = f'style="{pad};border-bottom:1px solid #d0d7de"'
    rows = "".join(
        f"<tr><td {cell}>{escape(line.label)}</td>"
        f'<td {cell}><b style="color:{RAG_HTML.get(line.rag, "#1f2328")}">'
        f"{escape(line.value)}</b></td><td {cell}>{escape(line.previous)}</td>"
        f'<td {cell}><small style="color:#59636e">{escape(line.detail)}</small></td></tr>'
        for line in lines(ack)
    )
    heads = "".join(
        f'<th align="left" style="{pad}">{escape(head)}</th>'
        for head in ("", "This period", ack.before.capitalize(), "")
    )
    more = f' <a href="{escape(link)}">Open it on the dashboard</a>.' if link else ""
    return (
        '<!doctype html><html><body style="font-family:sans-serif;color:#1f2328">'
        f"<h2>Acknowledgement report: {escape(ack.scope)}, {escape(ack.period)}</h2>"
        "<p>How long customers waited from the staff cue to an acknowledgement.</p>"
        f'<table style="border-collapse:collapse"><tr>{heads}</tr>{rows}</table>'
        f'<p style="color:#59636e">In detail: {escape(detail_words(ack))}. Times in '
        f"{escape(ack.zone)}.</p><p>The full report is attached as a PDF.{more}</p>"
        "</body></html>"
    )


def send(smtp: Smtp, message: EmailMessage) -> None:
    """Send ``message`` through the configured server, or raise ``MailError`` with the fix."""
    where = f"{smtp.host}:{smtp.port}"
    context = ssl.create_default_context(cafile=smtp.ca_file)
    try:
        if smtp.security == "tls":
            client: smtplib.SMTP = smtplib.SMTP_SSL(
                smtp.host, smtp.port, timeout=smtp.timeout_s, context=context
            )
        else:
            client = smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s)
        with client:
            if smtp.security == "starttls":
                _not_supported(client.starttls, "STARTTLS", where, context=context)
            if smtp.username:
                _not_supported(client.login, "login (AUTH)", where, smtp.username, _password(smtp))
            client.send_message(message)
    except MailError:
        raise
    except ssl.SSLCertVerificationError as exc:
        raise MailError(
            f"the mail server {where} has a certificate this box does not trust "
            f"({exc.verify_message}); set reports.smtp.ca_file to its CA, or use the name on "
            "its certificate as reports.smtp.host"
        ) from None
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(
            f"the mail server {where} refused the login of {smtp.username!r} ({_said(exc)}); "
            f"check reports.smtp.username and the password in ${smtp.password_env}"
        ) from None
    except smtplib.SMTPRecipientsRefused as exc:
        refused = ", ".join(sorted(exc.recipients))
        raise MailError(
            f"the mail server {where} refused the recipients {refused}; check the addresses "
            "under reports.chain and reports.sites"
        ) from None
    except smtplib.SMTPSenderRefused as exc:
        raise MailError(
            f"the mail server {where} refused the sender {exc.sender} ({_said(exc)}); set "
            "reports.sender to an address this login may send from"
        ) from None
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"the mail server {where} answered {_said(exc)}") from None
    except (ssl.SSLError, smtplib.SMTPServerDisconnected) as exc:
        raise MailError(
            f"the connection to the mail server {where} failed ({exc}); check "
            "reports.smtp.security: starttls for port 587, tls for port 465"
        ) from None
    except TimeoutError:
        raise MailError(
            f"the mail server {where} did not answer within {smtp.timeout_s:g} s; check "
            "reports.smtp.host and port, and that this box may reach it"
        ) from None
    except OSError as exc:
        raise MailError(
            f"cannot reach the mail server {where} ({exc.strerror or exc}); check "
            "reports.smtp.host and port, and that the server is up"
        ) from None


def _not_supported(
    step: Callable[..., object], what: str, where: str, *args: Any, **kw: Any
) -> None:
    """Run a step of the SMTP talk that the server may not offer."""
    try:
        step(*args, **kw)
    except smtplib.SMTPNotSupportedError:
        raise MailError(
            f"the mail server {where} offers no {what} here; check reports.smtp.security "
            "(starttls for port 587, tls for port 465) and, without a login, unset username"
        ) from None


def _password(smtp: Smtp) -> str:
    password = smtp.password()
    if password is None:
        raise MailError(
            f"reports.smtp.username is set but ${smtp.password_env} is empty; put the SMTP "
            "password in that environment variable (e.g. the systemd unit's Environment=)"
        )
    return password


def _said(exc: smtplib.SMTPResponseException) -> str:
    text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else ""
    return f"{exc.smtp_code} {text}".strip()[:200]
