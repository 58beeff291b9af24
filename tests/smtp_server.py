"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, recording what it receives.

    server = SmtpServer(auth=("mailer", "secret"))   # or SmtpServer() for no AUTH
    server.start()
    ... send to server.url ...
    [msg] = server.wait_for(1)
    server.stop()

Messages are parsed with the modern email policy (`EmailMessage`). With `tls="starttls"`
or `tls="implicit"` the server presents a certificate for 127.0.0.1 signed by a throwaway
CA (`server.ca_file`); point SSL_CERT_FILE at it so the client trusts it.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import socket
import ssl
import threading
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

HOST = "127.0.0.1"


@dataclass(frozen=True)
class Delivery:
    """One accepted message, with its envelope and who logged in (None without AUTH)."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    login: str | None
    message: EmailMessage
    raw: bytes  # the DATA exactly as received


class RecordingHandler:
    """aiosmtpd handler: keeps every message; refuses MAIL before AUTH when `require_auth`."""

    def __init__(self, require_auth: bool = False):
        self.require_auth = require_auth
        self._deliveries: list[Delivery] = []
        self._changed = threading.Condition()

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        # aiosmtpd's own `auth_required` warns when TLS is not also required; enforcing it
        # here keeps AUTH over plain text (a local test server) free of warnings.
        if self.require_auth and not session.authenticated:
            return "530 5.7.0 Authentication required"
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        raw = envelope.original_content or envelope.content
        # Line endings as Python writes them, so a text part reads back exactly as sent.
        message = email.message_from_bytes(raw.replace(b"\r\n", b"\n"), policy=email.policy.default)
        auth = session.auth_data
        login = auth.login.decode() if isinstance(auth, LoginPassword) else None
        delivery = Delivery(envelope.mail_from, tuple(envelope.rcpt_tos), login, message, raw)
        with self._changed:
            self._deliveries.append(delivery)
            self._changed.notify_all()
        return "250 Message accepted for delivery"

    @property
    def deliveries(self) -> list[Delivery]:
        with self._changed:
            return list(self._deliveries)

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[Delivery]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._deliveries) >= count, timeout):
                raise AssertionError(
                    f"expected {count} message(s) within {timeout} s, got {len(self._deliveries)}"
                )
            return list(self._deliveries)


class _SMTP(SMTP):
    def connection_lost(self, error):
        super().connection_lost(error)
        # A client that hangs up mid-conversation (a failed TLS handshake) leaves its
        # ConnectionResetError on this future; asyncio would log "Future exception was
        # never retrieved" if the future is collected before this protocol. Retrieve it now.
        closed = getattr(self, "_closed", None)
        if closed is not None and closed.done() and not closed.cancelled():
            closed.exception()


class _Controller(Controller):
    """Listens on an already-bound socket (no race for a free port) and hands the SMTP
    instance its loop explicitly (aiosmtpd's loop lookup toggles global warning filters)."""

    def __init__(self, handler, sock: socket.socket, **kwargs):
        self._sock = sock
        super().__init__(handler, hostname=HOST, port=sock.getsockname()[1], **kwargs)

    def _create_server(self):
        return self.loop.create_server(self._factory_invoker, sock=self._sock, ssl=self.ssl_context)

    def factory(self):
        return _SMTP(self.handler, loop=self.loop, **self.SMTP_kwargs)


class SmtpServer:
    def __init__(self, auth: tuple[str, str] | None = None, tls: str | None = None,
                 cert_dir: Path | None = None):
        assert tls in (None, "starttls", "implicit")
        self.credentials = auth
        self.handler = RecordingHandler(require_auth=auth is not None)
        self.tls = tls
        self.ca_file: Path | None = None
        self._cert_dir = cert_dir
        self._controller: _Controller | None = None
        self.port = 0

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        ok = (isinstance(auth_data, LoginPassword) and self.credentials is not None
              and (auth_data.login, auth_data.password)
              == tuple(part.encode() for part in self.credentials))
        return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

    def start(self) -> SmtpServer:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.bind((HOST, 0))
        self.port = sock.getsockname()[1]
        kwargs = {
            "server_hostname": "smtp.test",  # skips a getfqdn() lookup per connection
            "ready_timeout": 5.0,
            "authenticator": self._authenticate,
            # With STARTTLS, AUTH is offered only after it (aiosmtpd's default); otherwise
            # the connection is as secure as it will get, so AUTH is offered at once.
            "auth_require_tls": self.tls == "starttls",
        }
        if self.tls is not None:
            context = self._server_tls_context()
            kwargs["ssl_context" if self.tls == "implicit" else "tls_context"] = context
        self._controller = _Controller(self.handler, sock, **kwargs)
        try:
            self._controller.start()
        except BaseException:
            sock.close()
            raise
        return self

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def url(self) -> str:
        scheme = "smtps" if self.tls == "implicit" else "smtp"
        return f"{scheme}://{HOST}:{self.port}"

    def url_with(self, user: str, password: str) -> str:
        from urllib.parse import quote

        scheme = "smtps" if self.tls == "implicit" else "smtp"
        return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{HOST}:{self.port}"

    @property
    def deliveries(self) -> list[Delivery]:
        return self.handler.deliveries

    @property
    def messages(self) -> list[EmailMessage]:
        return [d.message for d in self.handler.deliveries]

    def wait_for(self, count: int = 1, timeout: float = 5.0) -> list[EmailMessage]:
        """The messages received so far, once there are at least `count` of them."""
        return [d.message for d in self.handler.wait_for(count, timeout)]

    # --- TLS: a throwaway CA and a certificate for 127.0.0.1 ---------------------------

    def _server_tls_context(self) -> ssl.SSLContext:
        assert self._cert_dir is not None, "TLS needs a cert_dir (e.g. tmp_path)"
        cert_file, key_file, self.ca_file = make_certificates(self._cert_dir)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert_file, key_file)
        return context


def make_certificates(directory: Path) -> tuple[Path, Path, Path]:
    """Write a CA and a server certificate for 127.0.0.1/localhost; return (cert, key, ca)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "EventMate test CA")])
    ca_cert = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False,
                                     key_agreement=False, key_cert_sign=True, crl_sign=True,
                                     encipher_only=False, decipher_only=False), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
        .issuer_name(ca_name).public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST)),
        ]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()),
                       critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    cert_file, key_file, ca_file = directory / "server.pem", directory / "server.key", directory / "ca.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    ca_file.write_bytes(ca_cert.public_bytes(serialization.Encoding.PEM))
    return cert_file, key_file, ca_file


def closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]
