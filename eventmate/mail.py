"""Sending email: the one door through which EventMate talks to an SMTP server.

An adapter with no Flask in it: callers pass the configured `SMTP_URL` and `MAIL_FROM`.

    smtp://host[:port]            plain SMTP (default port 25), upgraded with STARTTLS
                                  whenever the server offers it
    smtp://user:pass@host[:port]  the same, then AUTH LOGIN/PLAIN; user and password are
                                  percent-decoded (write "@" as %40, ":" as %3A)
    smtps://...                   implicit TLS (default port 465)

TLS certificates are verified against the system's trust store. Two kinds of failure:
`ValueError` means the inputs are wrong (a bad URL, a newline in a header) and retrying
will not help; `MailError` means the sending itself failed (server down, refused, timed out).
"""

from __future__ import annotations

import base64
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid, parseaddr
from urllib.parse import SplitResult, unquote, urlsplit

DEFAULT_PORTS = {"smtp": 25, "smtps": 465}


class MailError(Exception):
    """Sending failed (server down, refused, timed out); message says why."""


@dataclass(frozen=True)
class Email:
    to: str
    subject: str
    text: str
    html: str
    unsubscribe_url: str | None = None  # one-click unsubscribe (RFC 8058)


@dataclass(frozen=True)
class SmtpSettings:
    host: str
    port: int
    implicit_tls: bool = False
    username: str | None = None
    password: str | None = field(default=None, repr=False)


def _redacted(parts: SplitResult) -> str:
    """The URL for error messages, without its password."""
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostport = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:***@{hostport}" if ":" in userinfo else f"{user}@{hostport}"
    return parts._replace(netloc=netloc).geturl()


def parse_smtp_url(url: str) -> SmtpSettings:
    """Read `smtp://[user:pass@]host[:port]` or `smtps://...`; ValueError says what is wrong."""
    if not isinstance(url, str) or not url.strip():
        raise ValueError("SMTP URL is empty; expected smtp://host:port or smtps://host:port")
    parts = urlsplit(url.strip())
    shown = _redacted(parts)
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise ValueError(f"SMTP URL {shown!r} must start with smtp:// or smtps://")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"SMTP URL {shown!r} must be only scheme, credentials, host and port")
    host = parts.hostname
    if not host:
        raise ValueError(f"SMTP URL {shown!r} has no host")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"SMTP URL {shown!r} has an invalid port (expected 1-65535)") from None
    if port is None:
        if parts.netloc.endswith(":"):
            raise ValueError(f"SMTP URL {shown!r} has an empty port")
        port = DEFAULT_PORTS[scheme]
    if not 1 <= port <= 65535:
        raise ValueError(f"SMTP URL {shown!r} has an invalid port (expected 1-65535)")
    username = unquote(parts.username) if parts.username is not None else None
    password = unquote(parts.password) if parts.password is not None else None
    if bool(username) != (password is not None):
        raise ValueError(f"SMTP URL {shown!r} needs both a user name and a password, or neither")
    return SmtpSettings(host=host, port=port, implicit_tls=scheme == "smtps",
                        username=username or None, password=password)


def build_message(sender: str, email: Email) -> EmailMessage:
    """The MIME message for `email`; ValueError when a header would carry a line break."""
    for name, value in (("sender", sender), ("to", email.to), ("subject", email.subject),
                        ("unsubscribe_url", email.unsubscribe_url or "")):
        if "\r" in value or "\n" in value:
            raise ValueError(f"email {name} must not contain line breaks")
    msg = EmailMessage()
    msg["From"] = sender
    msg["To"] = email.to
    msg["Subject"] = email.subject
    msg["Date"] = format_datetime(datetime.now(UTC))
    domain = parseaddr(sender)[1].rpartition("@")[2].strip("[]") or "localhost"
    msg["Message-ID"] = make_msgid(domain=domain)
    if email.unsubscribe_url:
        msg["List-Unsubscribe"] = f"<{email.unsubscribe_url}>"
        msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    # Quoted-printable keeps the body 7-bit, so any server takes it, whatever it advertises.
    msg.set_content(email.text, cte="quoted-printable")
    msg.add_alternative(email.html, subtype="html", cte="quoted-printable")
    return msg


def send(smtp_url: str, sender: str, email: Email, *, timeout: float = 10.0) -> None:
    """Send `email` from `sender` through the server at `smtp_url`.

    Raises ValueError for a bad URL or header (before any connection), MailError when the
    server cannot be reached, refuses the login or the message, or takes longer than
    `timeout` seconds for any one step.
    """
    settings = parse_smtp_url(smtp_url)
    msg = build_message(sender, email)
    where = f"{settings.host}:{settings.port}"
    context = ssl.create_default_context()
    try:
        if settings.implicit_tls:
            client = smtplib.SMTP_SSL(settings.host, settings.port, timeout=timeout, context=context)
        else:
            client = smtplib.SMTP(settings.host, settings.port, timeout=timeout)
        with client:
            client.ehlo()
            if not settings.implicit_tls and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            if settings.username is not None:
                _login(client, settings.username, settings.password or "")
            refused = client.send_message(msg)
    except smtplib.SMTPAuthenticationError as exc:
        raise MailError(f"SMTP login to {where} failed: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
    except smtplib.SMTPResponseException as exc:
        raise MailError(f"SMTP server {where} refused: {exc.smtp_code} {_text(exc.smtp_error)}") from exc
    except smtplib.SMTPRecipientsRefused as exc:
        raise MailError(f"SMTP server {where} refused the recipient: {_refusals(exc.recipients)}") from exc
    except TimeoutError as exc:
        raise MailError(f"SMTP server {where} timed out after {timeout:g} s") from exc
    except (OSError, UnicodeError) as exc:  # smtplib.SMTPException is an OSError
        raise MailError(f"could not send mail via {where}: {exc or type(exc).__name__}") from exc
    if refused:
        raise MailError(f"SMTP server {where} refused recipients: {_refusals(refused)}")


def _login(client: smtplib.SMTP, user: str, password: str) -> None:
    if user.isascii() and password.isascii():
        client.login(user, password)  # picks the best mechanism the server offers
        return
    # smtplib sends credentials as ASCII only; AUTH PLAIN (RFC 4616) carries UTF-8.
    if "PLAIN" not in client.esmtp_features.get("auth", "").upper().split():
        raise MailError("the SMTP server does not offer AUTH PLAIN, needed for a non-ASCII "
                        "user name or password")
    token = base64.b64encode(b"\0" + user.encode() + b"\0" + password.encode()).decode("ascii")
    code, reply = client.docmd("AUTH", f"PLAIN {token}")
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, reply)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _refusals(recipients: dict) -> str:
    return "; ".join(f"{rcpt}: {code} {_text(reply)}" for rcpt, (code, reply) in recipients.items())
