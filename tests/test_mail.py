"""eventmate.mail against a real SMTP server (aiosmtpd on 127.0.0.1)."""

from __future__ import annotations

import socket
import time

import pytest
from smtp_fixtures import smtp_server_fixture  # noqa: F401
from smtp_server import SmtpServer, closed_port

from eventmate import mail
from eventmate.mail import Email, MailError, SmtpSettings, parse_smtp_url

SENDER = "EventMate <eventmate@events.example.org>"


def an_email(**overrides) -> Email:
    values = {
        "to": "Zoë Martin <zoe@example.org>",
        "subject": "Your notes from Café Central",
        "text": "Hi Zoë,\n\nHere are your notes from Café Central.\n",
        "html": "<p>Hi Zoë,</p><p>Here are your notes from <b>Café Central</b>.</p>",
    }
    values.update(overrides)
    return Email(**values)


def parts(message) -> dict[str, str]:
    return {part.get_content_type(): part.get_content() for part in message.iter_parts()}


# --- delivery ---------------------------------------------------------------------------

def test_message_arrives_with_both_parts_and_unsubscribe_headers(smtp_server):
    url = "https://events.example.org/unsubscribe/abc123"
    mail.send(smtp_server.url, SENDER, an_email(unsubscribe_url=url))

    [message] = smtp_server.wait_for(1, timeout=5)
    assert message.get_content_type() == "multipart/alternative"
    assert parts(message) == {
        "text/plain": "Hi Zoë,\n\nHere are your notes from Café Central.\n",
        "text/html": "<p>Hi Zoë,</p><p>Here are your notes from <b>Café Central</b>.</p>\n",
    }
    assert message["Subject"] == "Your notes from Café Central"
    assert message["From"].addresses[0].addr_spec == "eventmate@events.example.org"
    assert message["From"].addresses[0].display_name == "EventMate"
    assert message["To"].addresses[0].addr_spec == "zoe@example.org"
    assert message["To"].addresses[0].display_name == "Zoë Martin"
    assert message["Date"].datetime is not None
    assert message["Message-ID"].endswith("@events.example.org>")
    assert message["List-Unsubscribe"] == f"<{url}>"
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"

    [delivery] = smtp_server.deliveries
    assert delivery.mail_from == "eventmate@events.example.org"
    assert delivery.rcpt_tos == ("zoe@example.org",)
    assert delivery.login is None


def test_without_unsubscribe_url_there_are_no_list_headers(smtp_server):
    mail.send(smtp_server.url, SENDER, an_email())
    mail.send(smtp_server.url, SENDER, an_email(to="ana@example.org", subject="Second"))

    first, second = smtp_server.wait_for(2, timeout=5)
    assert "List-Unsubscribe" not in first
    assert "List-Unsubscribe-Post" not in first
    assert second["Subject"] == "Second"
    assert first["Message-ID"] != second["Message-ID"]


def test_the_raw_message_is_seven_bit(smtp_server):
    mail.send(smtp_server.url, SENDER, an_email())
    [message] = smtp_server.wait_for(1)
    assert message.as_bytes().isascii()  # headers RFC 2047, bodies quoted-printable


@pytest.mark.parametrize("field", ["subject", "to", "unsubscribe_url"])
def test_a_line_break_in_a_header_is_refused_before_connecting(field):
    with pytest.raises(ValueError, match="line break"):
        mail.send(f"smtp://127.0.0.1:{closed_port()}", SENDER,
                  an_email(**{field: "x@example.org\r\nBcc: victim@example.org"}))
    with pytest.raises(ValueError, match="line break"):
        mail.send(f"smtp://127.0.0.1:{closed_port()}", SENDER, an_email(**{field: "x\ny"}))


# --- login ------------------------------------------------------------------------------

def test_login_with_credentials_from_the_url():
    with SmtpServer(auth=("mailer@example.org", "p@ss:wörd/1")) as server:
        mail.send(server.url_with("mailer@example.org", "p@ss:wörd/1"), SENDER, an_email())
        [delivery] = server.handler.wait_for(1, timeout=5)
    assert delivery.login == "mailer@example.org"
    assert delivery.message["Subject"] == "Your notes from Café Central"


def test_wrong_password_is_a_mail_error():
    with SmtpServer(auth=("mailer", "right")) as server:
        with pytest.raises(MailError, match="login .* failed"):
            mail.send(server.url_with("mailer", "wrong"), SENDER, an_email())
        assert server.messages == []


def test_no_credentials_against_a_server_that_requires_them():
    with SmtpServer(auth=("mailer", "right")) as server:
        with pytest.raises(MailError, match="530"):
            mail.send(server.url, SENDER, an_email())
        assert server.messages == []


# --- TLS --------------------------------------------------------------------------------

@pytest.mark.parametrize("tls", ["starttls", "implicit"])
def test_tls_with_a_trusted_certificate(tls, tmp_path, monkeypatch):
    with SmtpServer(auth=("mailer", "secret"), tls=tls, cert_dir=tmp_path) as server:
        monkeypatch.setenv("SSL_CERT_FILE", str(server.ca_file))
        mail.send(server.url_with("mailer", "secret"), SENDER, an_email())
        [delivery] = server.handler.wait_for(1)
    assert delivery.login == "mailer"


def test_starttls_with_an_untrusted_certificate_is_a_mail_error(tmp_path):
    with SmtpServer(tls="starttls", cert_dir=tmp_path) as server:
        with pytest.raises(MailError, match="CERTIFICATE_VERIFY_FAILED"):
            mail.send(server.url, SENDER, an_email())
        assert server.messages == []


def test_smtps_against_a_plain_server_is_a_mail_error(smtp_server):
    port = smtp_server.url.rsplit(":", 1)[1]
    with pytest.raises(MailError):
        mail.send(f"smtps://127.0.0.1:{port}", SENDER, an_email(), timeout=2)


# --- failures ---------------------------------------------------------------------------

def test_a_closed_port_fails_quickly():
    started = time.monotonic()
    with pytest.raises(MailError, match=r"127\.0\.0\.1:\d+"):
        mail.send(f"smtp://127.0.0.1:{closed_port()}", SENDER, an_email(), timeout=5)
    assert time.monotonic() - started < 2


def test_a_server_that_never_answers_times_out():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # accepts connections (the kernel does), never says hello
        started = time.monotonic()
        with pytest.raises(MailError, match="timed out"):
            mail.send(f"smtp://127.0.0.1:{silent.getsockname()[1]}", SENDER, an_email(), timeout=0.3)
    assert time.monotonic() - started < 2


# --- parse_smtp_url ---------------------------------------------------------------------

@pytest.mark.parametrize(("url", "expected"), [
    ("smtp://mail.example.org", SmtpSettings("mail.example.org", 25)),
    ("smtp://mail.example.org:587", SmtpSettings("mail.example.org", 587)),
    ("smtps://mail.example.org", SmtpSettings("mail.example.org", 465, implicit_tls=True)),
    ("SMTPS://Mail.Example.org:2465/", SmtpSettings("mail.example.org", 2465, implicit_tls=True)),
    ("smtp://me%40example.org:p%40ss%3Aw%2Frd@mail.example.org:587",
     SmtpSettings("mail.example.org", 587, username="me@example.org", password="p@ss:w/rd")),
    ("smtp://[::1]:2525", SmtpSettings("::1", 2525)),
])
def test_parse_smtp_url(url, expected):
    settings = parse_smtp_url(url)
    assert settings == expected
    assert settings.password is None or settings.password not in repr(settings)


@pytest.mark.parametrize(("url", "message"), [
    ("http://x", "must start with smtp:// or smtps://"),
    ("x", "must start with smtp:// or smtps://"),
    ("", "empty"),
    ("smtp://", "no host"),
    ("smtp://:25", "no host"),
    ("smtp://user:secret@:25", "no host"),
    ("smtp://host:abc", "invalid port"),
    ("smtp://host:0", "invalid port"),
    ("smtp://host:70000", "invalid port"),
    ("smtp://host:", "empty port"),
    ("smtp://host:25/path", "only scheme"),
    ("smtp://host:25?x=1", "only scheme"),
    ("smtp://user@host:25", "both a user name and a password"),
])
def test_parse_smtp_url_errors(url, message):
    with pytest.raises(ValueError, match=message):
        parse_smtp_url(url)


def test_errors_never_show_the_password():
    with pytest.raises(ValueError) as excinfo:
        parse_smtp_url("smtp://user:hunter2@host:notaport")
    assert "hunter2" not in str(excinfo.value)
    assert "user:***@host" in str(excinfo.value)


def test_send_with_a_bad_url_is_a_value_error():
    with pytest.raises(ValueError, match="smtp://"):
        mail.send("http://x", SENDER, an_email())
